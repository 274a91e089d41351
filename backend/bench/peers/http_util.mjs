// Helpers both peers share: the brief's sent_at format and a JSON response.

const pad = (n) => String(n).padStart(2, '0')

// "DD/MM/YYYY HH:MM:SS" in UTC, as the brief's server formats sent_at.
export function sentAt (d = new Date()) {
  return `${pad(d.getUTCDate())}/${pad(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}

export function json (res, status, body) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}
