// Hand-written SVG charts for docs/bench/ (no plotting dependency): a line chart with linear or
// log axes and a grouped bar chart. Each returns the SVG text.
const W = 720
const H = 400
const M = { left: 80, right: 170, top: 40, bottom: 70 }
const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b']

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
const short = (v) => {
  const a = Math.abs(v)
  if (a >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`
  if (a >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`
  return `${+v.toPrecision(3)}`
}

function scale (min, max, log, from, to) {
  if (log) {
    const a = Math.log10(min); const b = Math.log10(max)
    return (v) => from + (Math.log10(Math.max(v, min)) - a) / (b - a || 1) * (to - from)
  }
  return (v) => from + (v - min) / (max - min || 1) * (to - from)
}

function ticks (min, max, log) {
  if (log) {
    const out = []
    for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
      for (const m of [1, 2, 5]) {
        const v = m * 10 ** e
        if (v >= min * 0.999 && v <= max * 1.001) out.push(v)
      }
    }
    return out
  }
  const step = 10 ** Math.floor(Math.log10((max - min) / 5 || 1))
  const n = (max - min) / step
  const s = n > 20 ? step * 5 : n > 10 ? step * 2 : step
  const out = []
  for (let v = Math.ceil(min / s) * s; v <= max + s * 1e-9; v += s) out.push(v)
  return out
}

function frame (title, xLabel, yLabel, body) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">
<rect width="${W}" height="${H}" fill="white"/>
<text x="${(M.left + W - M.right) / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>
<text x="${(M.left + W - M.right) / 2}" y="${H - 14}" text-anchor="middle">${esc(xLabel)}</text>
<text transform="translate(18 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>
${body}
</svg>
`
}

// series: [{ name, points: [[x, y], ...], dash? }]
export function lineChart ({ title, xLabel, yLabel, series, xLog = false, yLog = false, hline }) {
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y))
  if (pts.length === 0) return frame(title, xLabel, yLabel, '<text x="300" y="200">no data</text>')
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))]
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))]
  if (hline != null) { y0 = Math.min(y0, hline.y); y1 = Math.max(y1, hline.y) }
  if (xLog) { x0 = 10 ** Math.floor(Math.log10(x0)); x1 = 10 ** Math.ceil(Math.log10(x1)) } else { x0 = Math.min(0, x0); x1 *= 1.05 }
  if (yLog) { y0 = 10 ** Math.floor(Math.log10(Math.max(y0, 1e-3))); y1 = 10 ** Math.ceil(Math.log10(y1)) } else { y0 = Math.min(0, y0); y1 *= 1.1 }
  const X = scale(x0, x1, xLog, M.left, W - M.right)
  const Y = scale(y0, y1, yLog, H - M.bottom, M.top)
  const parts = []
  for (const t of ticks(x0, x1, xLog)) {
    parts.push(`<line x1="${X(t)}" x2="${X(t)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`,
      `<text x="${X(t)}" y="${H - M.bottom + 16}" text-anchor="middle">${short(t)}</text>`)
  }
  for (const t of ticks(y0, y1, yLog)) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${Y(t)}" y2="${Y(t)}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${Y(t) + 4}" text-anchor="end">${short(t)}</text>`)
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${W - M.left - M.right}" height="${H - M.top - M.bottom}" fill="none" stroke="#333"/>`)
  if (hline) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${Y(hline.y)}" y2="${Y(hline.y)}" stroke="#888" stroke-dasharray="2 3"/>`,
      `<text x="${W - M.right - 4}" y="${Y(hline.y) - 4}" text-anchor="end" fill="#666">${esc(hline.label)}</text>`)
  }
  series.forEach((s, i) => {
    const color = s.color ?? COLORS[i % COLORS.length]
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0])
    if (p.length === 0) return
    parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2" ${s.dash ? `stroke-dasharray="${s.dash}"` : ''} points="${p.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ')}"/>`)
    for (const [x, y] of p) parts.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${color}"><title>${esc(s.name)}: ${short(x)}, ${short(y)}</title></circle>`)
    const ly = M.top + 14 + i * 18
    parts.push(`<line x1="${W - M.right + 10}" x2="${W - M.right + 34}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2" ${s.dash ? `stroke-dasharray="${s.dash}"` : ''}/>`,
      `<text x="${W - M.right + 38}" y="${ly}">${esc(s.name)}</text>`)
  })
  return frame(title, xLabel, yLabel, parts.join('\n'))
}

// groups: [{ label, values: [number|null per series] }], names: series names
export function barChart ({ title, yLabel, groups, names, yLog = false }) {
  const vals = groups.flatMap((g) => g.values).filter((v) => Number.isFinite(v) && v > 0)
  if (vals.length === 0) return frame(title, '', yLabel, '<text x="300" y="200">no data</text>')
  let y0 = 0; let y1 = Math.max(...vals) * 1.1
  if (yLog) { y0 = 10 ** Math.floor(Math.log10(Math.min(...vals) / 2)); y1 = 10 ** Math.ceil(Math.log10(Math.max(...vals))) }
  const Y = scale(y0, y1, yLog, H - M.bottom - 30, M.top)
  const base = H - M.bottom - 30
  const gw = (W - M.left - M.right) / groups.length
  const bw = Math.min(28, (gw - 10) / names.length)
  const parts = []
  for (const t of ticks(y0, y1, yLog)) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${Y(t)}" y2="${Y(t)}" stroke="#eee"/>`,
      `<text x="${M.left - 6}" y="${Y(t) + 4}" text-anchor="end">${short(t)}</text>`)
  }
  groups.forEach((g, gi) => {
    const gx = M.left + gi * gw + (gw - bw * names.length) / 2
    g.values.forEach((v, si) => {
      if (!Number.isFinite(v) || v <= 0) return
      const y = Y(v)
      parts.push(`<rect x="${(gx + si * bw).toFixed(1)}" y="${y.toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${(base - y).toFixed(1)}" fill="${COLORS[si % COLORS.length]}"><title>${esc(names[si])} ${esc(g.label)}: ${short(v)}</title></rect>`)
    })
    const cx = M.left + gi * gw + gw / 2
    parts.push(`<text transform="translate(${cx.toFixed(1)} ${base + 12}) rotate(30)" font-size="10">${esc(g.label)}</text>`)
  })
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${base}" y2="${base}" stroke="#333"/>`,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${base}" stroke="#333"/>`)
  names.forEach((n, i) => {
    const ly = M.top + 14 + i * 18
    parts.push(`<rect x="${W - M.right + 10}" y="${ly - 10}" width="14" height="10" fill="${COLORS[i % COLORS.length]}"/>`,
      `<text x="${W - M.right + 30}" y="${ly}">${esc(n)}</text>`)
  })
  return frame(title, '', yLabel, parts.join('\n'))
}
