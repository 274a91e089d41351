// Real services for the monitoring tests, each on private ports below 32768, in a temporary
// directory, stopped by PID: RabbitMQ (through scripts/rabbitmq), Prometheus (Debian package) and
// nginx (Debian package). Every wait polls an observable state and is bounded.
import { spawn, spawnSync } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join, resolve } from 'node:path'
import { repoRoot } from './dashboards.mjs'

const cleanups = new Set()
// A test process that dies (failed assertion, timeout, ctrl-C) must not leave services behind.
process.on('exit', () => { for (const fn of cleanups) { try { fn() } catch {} } })
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130))

export async function waitFor (fn, { timeoutMs = 10000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    try { last = await fn() } catch (err) { last = undefined; if (Date.now() > deadline) throw err }
    if (last) return last
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
}

function portFree (port) {
  return new Promise(resolve => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

async function allFree (ports) {
  for (const p of ports) if (!(await portFree(p))) return false
  return true
}

// A random free port in [lo, hi) (all below the ephemeral range, 32768).
export async function freePort (lo = 23000, hi = 24000) {
  for (let i = 0; i < 50; i++) {
    const p = lo + Math.floor(Math.random() * (hi - lo))
    if (await portFree(p)) return p
  }
  throw new Error(`no free port in ${lo}-${hi}`)
}

export function which (cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

// --- RabbitMQ -----------------------------------------------------------------------------------

// scripts/rabbitmq's port layout for RMQ_PORT_BASE (see that script).
function rabbitPorts (base) {
  const ctl = Array.from({ length: 11 }, (_, i) => base + 1700 + i)
  return { amqp: base + 672, dist: base + 673, epmd: base + 369, mgmt: base + 1672, prom: base + 1692, all: [base + 369, base + 672, base + 673, base + 1672, base + 1692, ...ctl] }
}

// Starts an isolated node with scripts/rabbitmq (fresh state in `dir`, port base chosen among
// free ones in 11000-18000 so it never meets the default 20000 of other tests).
export async function startRabbitMQ (dir) {
  const script = join(repoRoot, 'scripts', 'rabbitmq')
  if (!existsSync(script)) throw new Error(`${script} is missing`)
  let base
  for (let i = 0; i < 40 && base === undefined; i++) {
    const b = 11000 + 100 * Math.floor(Math.random() * 70)
    if (await allFree(rabbitPorts(b).all)) base = b
  }
  if (base === undefined) throw new Error('no free RabbitMQ port base in 11000-18000')
  const env = { ...process.env, RMQ_DIR: join(dir, 'rmq'), RMQ_PORT_BASE: String(base) }
  delete env.RMQ_DEV_PORTS
  delete env.RMQ_KEEP
  const epmdEnv = { ...process.env, ERL_EPMD_PORT: String(rabbitPorts(base).epmd) }
  const kill = () => {
    spawnSync(script, ['kill'], { env, stdio: 'ignore', timeout: 20000 })
    // Right after kill -9 the private epmd still lists the node and refuses `epmd -kill`; retry
    // until it is gone (bounded), or it stays behind after the test.
    for (let i = 0; i < 50; i++) {
      if (spawnSync('epmd', ['-names'], { env: epmdEnv, stdio: 'ignore', timeout: 5000 }).status !== 0) break
      spawnSync('epmd', ['-kill'], { env: epmdEnv, stdio: 'ignore', timeout: 5000 })
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100)
    }
  }
  cleanups.add(kill)
  const started = await new Promise(resolve => {
    const proc = spawn(script, ['start'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    proc.stdout.on('data', c => { out += c })
    proc.stderr.on('data', c => { out += c })
    const timer = setTimeout(() => proc.kill('SIGKILL'), 90000)
    proc.on('exit', code => { clearTimeout(timer); resolve({ code, out }) })
  })
  if (started.code !== 0) {
    kill()
    throw new Error(`scripts/rabbitmq start failed (exit ${started.code}):\n${started.out}`)
  }
  const ports = rabbitPorts(base)
  return {
    base,
    ports,
    amqpUrl: `amqp://guest:guest@127.0.0.1:${ports.amqp}/`,
    mgmtBase: `http://127.0.0.1:${ports.mgmt}`,
    metricsTarget: `127.0.0.1:${ports.prom}`,
    logDir: join(dir, 'rmq', 'log'),
    // kill -9 and the private epmd: instant, and the state is thrown away anyway.
    stop () { kill(); cleanups.delete(kill) }
  }
}

// One call to the management API as guest (loopback). `body` is sent as JSON.
export async function rabbitApi (rmq, method, path, body) {
  const res = await fetch(`${rmq.mgmtBase}${path}`, {
    method,
    headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64'), 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10000)
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`)
  return text ? JSON.parse(text) : undefined
}

// --- Prometheus ---------------------------------------------------------------------------------

// The project's prometheus.yml with every job pointed at local targets: `targets` maps job name
// to ['127.0.0.1:PORT', ...]. Jobs, paths, relabelling and rule files are kept as they are; the
// intervals become 1 s. A job of the file that the test cannot place is an error.
export async function localPrometheusConfig (targets, ownTarget) {
  const YAML = await import('yaml')
  const source = join(repoRoot, 'monitoring', 'prometheus', 'prometheus.yml')
  const config = YAML.parse(readFileSync(source, 'utf8'))
  config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' }
  config.rule_files = (config.rule_files ?? []).map(f => resolve(dirname(source), f))
  const all = { ...targets, prometheus: [ownTarget] }
  for (const job of config.scrape_configs) {
    if (!all[job.job_name]) throw new Error(`prometheus.yml job "${job.job_name}": the test has no local target for it`)
    job.static_configs = [{ targets: all[job.job_name] }]
    delete job.scrape_interval
    delete job.scrape_timeout
  }
  const missing = Object.keys(targets).filter(j => !config.scrape_configs.some(c => c.job_name === j))
  if (missing.length) throw new Error(`prometheus.yml has no job ${missing.join(', ')}`)
  return YAML.stringify(config)
}

export async function startPrometheus (dir, configText, port) {
  const bin = which('prometheus')
  if (!bin) throw new Error('prometheus not found: run scripts/install-deps --test')
  mkdirSync(dir, { recursive: true })
  const configPath = join(dir, 'prometheus.yml')
  writeFileSync(configPath, configText)
  const logPath = join(dir, 'prometheus.log')
  const log = createWriteStream(logPath)
  const proc = spawn(bin, [
    `--config.file=${configPath}`, `--storage.tsdb.path=${join(dir, 'data')}`,
    '--storage.tsdb.retention.time=1h', `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  proc.stdout.pipe(log)
  proc.stderr.pipe(log)
  const kill = () => proc.kill('SIGKILL')
  cleanups.add(kill)
  const base = `http://127.0.0.1:${port}`
  const exited = new Promise(resolve => proc.on('exit', (code, signal) => resolve({ code, signal })))
  const logText = () => { try { return readFileSync(logPath, 'utf8') } catch { return '' } }
  await Promise.race([
    waitFor(async () => (await fetch(`${base}/-/ready`, { signal: AbortSignal.timeout(2000) })).ok,
      { timeoutMs: 20000, what: 'Prometheus /-/ready' }),
    exited.then(r => { throw new Error(`prometheus exited (${JSON.stringify(r)}):\n${logText()}`) })
  ])
  return {
    base,
    configPath,
    log: logText,
    async stop () {
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10000)
      await exited
      clearTimeout(timer)
      cleanups.delete(kill)
    }
  }
}

// GET /api/v1/<path> with query parameters; returns `data` or throws with Prometheus' error.
export async function promApi (prom, path, params = {}) {
  const url = new URL(`/api/v1/${path}`, prom.base)
  for (const [k, v] of Object.entries(params)) {
    for (const item of [].concat(v)) url.searchParams.append(k, item)
  }
  const res = await fetch(url, { signal: AbortSignal.timeout(10000) })
  const body = await res.json().catch(() => ({ status: 'error', error: `HTTP ${res.status}, not JSON` }))
  if (body.status !== 'success') throw new Error(`${body.errorType ?? 'error'}: ${body.error}`)
  return body.data
}

export const promQuery = (prom, query) => promApi(prom, 'query', { query })

// The numeric value of a scalar-ish query (first series), or NaN when it has none.
export async function promValue (prom, query) {
  const data = await promQuery(prom, query)
  if (data.resultType === 'scalar') return Number(data.result[1])
  return data.result.length ? Number(data.result[0].value[1]) : NaN
}

// --- nginx --------------------------------------------------------------------------------------

// Runs nginx (master in the foreground, stopped by PID) with `serverConf` included in http {}.
export async function startNginx (dir, serverConf, port) {
  const bin = which('nginx') ?? (existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : null)
  if (!bin) throw new Error('nginx not found: run scripts/install-deps --test')
  mkdirSync(join(dir, 'tmp'), { recursive: true })
  writeFileSync(join(dir, 'chatd.conf'), serverConf)
  const conf = join(dir, 'nginx.conf')
  writeFileSync(conf, `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 512; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  include ${dir}/chatd.conf;
}
`)
  const check = spawnSync(bin, ['-t', '-q', '-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { encoding: 'utf8' })
  if (check.status !== 0) throw new Error(`nginx -t failed:\n${check.stderr}`)
  const proc = spawn(bin, ['-p', dir, '-c', conf, '-e', join(dir, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  proc.stdout.on('data', c => { out += c })
  proc.stderr.on('data', c => { out += c })
  const kill = () => proc.kill('SIGKILL')
  cleanups.add(kill)
  const exited = new Promise(resolve => proc.on('exit', (code, signal) => resolve({ code, signal })))
  const base = `http://127.0.0.1:${port}`
  await Promise.race([
    waitFor(async () => (await fetch(`${base}/nginx-health`, { signal: AbortSignal.timeout(2000) })).ok,
      { timeoutMs: 10000, what: 'nginx /nginx-health' }),
    exited.then(r => { throw new Error(`nginx exited (${JSON.stringify(r)}): ${out}`) })
  ])
  return {
    base,
    async stop () {
      proc.kill('SIGQUIT') // graceful: workers finish, then the master exits
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
      cleanups.delete(kill)
    }
  }
}

export function removeDir (dir) {
  rmSync(dir, { recursive: true, force: true })
}
