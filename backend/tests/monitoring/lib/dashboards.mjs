// The Grafana dashboards of monitoring/grafana/dashboards: loading, walking panels, and turning a
// panel query into plain PromQL the way Grafana would send it.
import { readFileSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const repoRoot = resolve(fileURLToPath(new URL('../../../..', import.meta.url)))
export const monitoringDir = join(repoRoot, 'monitoring')
export const dashboardsDir = join(monitoringDir, 'grafana', 'dashboards')

// [{file, path, json}] for every *.json dashboard, sorted by file name.
export function loadDashboards () {
  return readdirSync(dashboardsDir)
    .filter(f => f.endsWith('.json'))
    .sort()
    .map(file => {
      const path = join(dashboardsDir, file)
      return { file, path, json: JSON.parse(readFileSync(path, 'utf8')) }
    })
}

// Every panel, rows' nested panels included (a collapsed row keeps its panels inside it).
export function * allPanels (dashboard) {
  for (const panel of dashboard.panels ?? []) {
    yield panel
    for (const inner of panel.panels ?? []) yield inner
  }
}

// Every panel target that carries a PromQL expression: [{panel, target}].
export function queryTargets (dashboard) {
  const out = []
  for (const panel of allPanels(dashboard)) {
    for (const target of panel.targets ?? []) {
      if (typeof target.expr === 'string') out.push({ panel, target })
    }
  }
  return out
}

// Grafana's built-in interval variables, fixed for a test (`window` covers the whole test run).
export function builtinVariables (window) {
  return {
    __rate_interval: window,
    __interval: window,
    __range: window,
    __interval_ms: '60000',
    __range_s: '60',
    __range_ms: '60000'
  }
}

// Replaces $var, ${var} and ${var:format} in `expr`. Dashboard variables become their "All"
// regex (allValue, or ".*"), which is what Grafana sends when "All" is selected.
export function substitute (expr, dashboard, window) {
  const values = builtinVariables(window)
  for (const v of dashboard.templating?.list ?? []) values[v.name] = v.allValue ?? '.*'
  const unknown = new Set()
  const out = expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (match, braced, bare) => {
    const name = braced ?? bare
    if (name in values) return values[name]
    unknown.add(name)
    return match
  })
  return { expr: out, unknown: [...unknown] }
}

// label_values(metric{selector}, label) -> {match, label}; other variable queries -> null.
export function parseLabelValues (query) {
  const m = /^\s*label_values\(\s*(.+?)\s*,\s*(\w+)\s*\)\s*$/.exec(query)
  return m ? { match: m[1], label: m[2] } : null
}

export function variableQuery (variable) {
  return typeof variable.query === 'string' ? variable.query : variable.query?.query ?? variable.definition
}
