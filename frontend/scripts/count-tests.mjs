#!/usr/bin/env node
// Prints "PASSED FAILED" for a test report, for scripts/run-tests:
//   a Vitest JSON report (--reporter=json --outputFile=…), or
//   a node:test TAP report (--test-reporter=tap), whose summary has "# pass N" and "# fail N".
// Exits 1 when the report is missing or unreadable.
import fs from 'node:fs'

const file = process.argv[2]
if (!file || !fs.existsSync(file)) process.exit(1)
const text = fs.readFileSync(file, 'utf8')

if (file.endsWith('.json')) {
  const report = JSON.parse(text)
  if (typeof report.numPassedTests !== 'number') process.exit(1)
  // A file that fails to load counts as one failure (it ran no tests).
  const brokenFiles = (report.testResults ?? []).filter(
    (r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0,
  ).length
  console.log(`${report.numPassedTests} ${report.numFailedTests + brokenFiles}`)
} else {
  const count = (name) => {
    const matches = [...text.matchAll(new RegExp(`^# ${name} (\\d+)$`, 'gm'))]
    const last = matches[matches.length - 1]
    return last ? Number(last[1]) : null
  }
  const pass = count('pass')
  const fail = count('fail')
  const cancelled = count('cancelled') ?? 0
  if (pass === null || fail === null) process.exit(1)
  console.log(`${pass} ${fail + cancelled}`)
}
