// The deployment files, checked without a Docker engine (there is none on these machines):
// `docker-compose config` (Debian's docker-compose 1.29) on backend/docker-compose.yml, with and
// without backend/.env.example; the compose conventions (pinned images, health checks and
// depends_on conditions, no container_name, every ${VAR} documented with the same default);
// Prometheus and Grafana pointing at the compose service names; and the Dockerfile's runtime
// stage installing every shared library the chatd binary (CHATD_BIN) links.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitoringDir, repoRoot } from './lib/dashboards.mjs'
import { which } from './lib/services.mjs'

const YAML = await import('yaml')
const backend = join(repoRoot, 'backend')
const composeFile = join(backend, 'docker-compose.yml')
const envExample = join(backend, '.env.example')
const compose = YAML.parse(readFileSync(composeFile, 'utf8'), { merge: true })
const services = compose.services
const dockerfile = readFileSync(join(backend, 'Dockerfile'), 'utf8')

function run (cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60000, ...opts })
  return { code: r.status, out: (r.stdout ?? '') + (r.stderr ?? '') }
}

// KEY=value lines of .env.example.
function envFile () {
  const vars = new Map()
  for (const line of readFileSync(envExample, 'utf8').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line)
    if (m) vars.set(m[1], m[2])
  }
  return vars
}

test('docker-compose config -q accepts the file, with the defaults and with .env.example', () => {
  assert.ok(which('docker-compose'), 'docker-compose not found: run scripts/install-deps --test')
  // An empty env file: only the defaults written in the compose file (a developer's .env is ignored).
  const dir = mkdtempSync(join(tmpdir(), 'chatd-compose-'))
  const empty = join(dir, 'empty.env')
  writeFileSync(empty, '')
  const plain = run('docker-compose', ['-f', composeFile, '--env-file', empty, 'config', '-q'])
  rmSync(dir, { recursive: true, force: true })
  assert.equal(plain.code, 0, plain.out)
  const withEnv = run('docker-compose', ['-f', composeFile, '--env-file', envExample, 'config', '-q'])
  assert.equal(withEnv.code, 0, withEnv.out)
  const printed = run('docker-compose', ['-f', composeFile, '--env-file', envExample, 'config', '--services'])
  assert.deepEqual(printed.out.trim().split('\n').sort(),
    ['chatd-1', 'chatd-2', 'grafana', 'postgres', 'prometheus', 'proxy', 'rabbitmq', 'rabbitmq-setup'])
})

test('every ${VAR} of the compose file is in .env.example with the same default, and nothing else is', () => {
  const text = readFileSync(composeFile, 'utf8')
  const used = new Map()
  for (const m of text.matchAll(/\$\{([A-Z][A-Z0-9_]*)(?::?-([^}]*))?\}/g)) {
    assert.ok(m[2] !== undefined, `\${${m[1]}} has no default: the stack must start without a .env`)
    if (used.has(m[1])) assert.equal(m[2], used.get(m[1]), `\${${m[1]}} has two different defaults`)
    used.set(m[1], m[2])
  }
  const documented = envFile()
  for (const [name, def] of used) {
    assert.ok(documented.has(name), `${name} is not in backend/.env.example`)
    assert.equal(documented.get(name), def, `${name}: .env.example says ${documented.get(name)}, compose defaults to ${def}`)
  }
  assert.deepEqual([...documented.keys()].filter(k => !used.has(k)), [], '.env.example documents unused variables')
})

test('compose conventions: pinned images, health checks, depends_on conditions, no container_name, named volumes', () => {
  for (const [name, svc] of Object.entries(services)) {
    assert.equal(svc.container_name, undefined, `${name}: container_name prevents scaling`)
    if (svc.build) {
      assert.equal(svc.build.dockerfile, 'backend/Dockerfile', `${name}: built from backend/Dockerfile`)
      assert.match(dockerfile, new RegExp(`^FROM .* AS ${svc.build.target}$`, 'm'), `${name}: Dockerfile has stage ${svc.build.target}`)
    } else {
      assert.match(svc.image, /^[\w./-]+:v?\d[\w.-]*$/, `${name}: image pinned to a version tag (${svc.image})`)
    }
    if (name !== 'rabbitmq-setup') assert.ok(svc.healthcheck?.test, `${name}: healthcheck`)
    for (const [dep, cond] of Object.entries(svc.depends_on ?? {})) {
      assert.ok(services[dep], `${name} depends on unknown ${dep}`)
      const want = services[dep].healthcheck ? 'service_healthy' : 'service_completed_successfully'
      assert.equal(cond.condition, want, `${name} -> ${dep}`)
    }
    for (const v of svc.volumes ?? []) {
      const src = String(v).split(':')[0]
      if (src.startsWith('.')) assert.ok(existsSync(join(backend, src)), `${name}: mounted ${src} exists`)
      else assert.ok(src in (compose.volumes ?? {}), `${name}: volume ${src} declared`)
    }
  }
  const published = Object.values(services).flatMap(s => s.ports ?? []).map(p => Number(String(p).split(':').pop()))
  for (const port of [8080, 5672, 15672, 15692, 9090, 3000]) assert.ok(published.includes(port), `port ${port} published`)
})

test('chatd nodes: RabbitMQ, PostgreSQL, their own node id, listening on 0.0.0.0:8080', () => {
  const nodes = Object.entries(services).filter(([, s]) => s.build?.target === 'runtime')
  assert.equal(nodes.length, 2)
  for (const [name, svc] of nodes) {
    const args = svc.command.join(' ')
    assert.match(args, /--listen=0\.0\.0\.0:8080/)
    assert.match(args, new RegExp(`--node-id=${name}\\b`))
    assert.match(args, /--db=postgresql:\/\/\S+@postgres:5432\//)
    assert.match(args, /--amqp-url=amqp:\/\/\S+@rabbitmq:5672\//)
    for (const dep of ['rabbitmq', 'postgres']) assert.ok(svc.depends_on[dep], `${name} waits for ${dep}`)
  }
  const rabbit = services.rabbitmq
  assert.match(rabbit.image, /management/, 'RabbitMQ image with the management plugin')
  const plugins = readFileSync(join(backend, 'deploy/rabbitmq/enabled_plugins'), 'utf8')
  assert.match(plugins, /rabbitmq_management/)
  assert.match(plugins, /rabbitmq_prometheus/)
  assert.ok(rabbit.environment.RABBITMQ_DEFAULT_USER && rabbit.environment.RABBITMQ_DEFAULT_USER !== 'guest',
    'a real RabbitMQ user (guest only works from loopback)')
  // The policy the setup service applies: the same one scripts/rabbitmq loads for tests.
  const policy = JSON.parse(readFileSync(join(backend, 'deploy/rabbitmq/policy.json'), 'utf8'))
  assert.equal(policy['apply-to'], 'queues')
  assert.ok(policy.definition['max-length'] > 0 && policy.definition.expires > 0)
  const script = join(repoRoot, 'scripts/rabbitmq')
  if (existsSync(script)) {
    const text = readFileSync(script, 'utf8')
    assert.ok(text.includes(`POLICY_PATTERN='${policy.pattern}'`), 'same pattern as scripts/rabbitmq')
    assert.ok(text.includes(`POLICY='${JSON.stringify(policy.definition)}'`), 'same definition as scripts/rabbitmq')
  }
})

test('Prometheus scrapes the compose services; Grafana reads that Prometheus', () => {
  const prom = YAML.parse(readFileSync(join(monitoringDir, 'prometheus/prometheus.yml'), 'utf8'))
  const targets = job => prom.scrape_configs.find(c => c.job_name === job).static_configs.flatMap(s => s.targets)
  const nodes = Object.entries(services).filter(([, s]) => s.build?.target === 'runtime').map(([n]) => `${n}:8080`)
  assert.deepEqual(targets('chatd').sort(), nodes.sort())
  assert.deepEqual(targets('rabbitmq'), ['rabbitmq:15692'])
  const mount = services.prometheus.volumes.find(v => v.startsWith('../monitoring/prometheus:'))
  assert.ok(mount, 'monitoring/prometheus mounted into prometheus')
  assert.ok(services.prometheus.command.includes(`--config.file=${mount.split(':')[1]}/prometheus.yml`))
  const ds = YAML.parse(readFileSync(join(monitoringDir, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8'))
  assert.equal(ds.datasources[0].url, 'http://prometheus:9090')
  const env = services.grafana.environment
  assert.ok(env.GF_SECURITY_ADMIN_USER.includes('admin') && env.GF_SECURITY_ADMIN_PASSWORD.includes('admin'),
    'admin/admin by default, from GF_SECURITY_ADMIN_USER / _PASSWORD')
})

test('Dockerfile: multi-stage on bookworm, install-deps as CI, non-root runtime with HEALTHCHECK on /healthz', () => {
  const stages = [...dockerfile.matchAll(/^FROM (\S+) AS (\S+)$/gm)].map(m => ({ image: m[1], name: m[2] }))
  assert.deepEqual(stages.map(s => s.name), ['build', 'web', 'proxy', 'runtime'], 'runtime is the last (default) stage')
  assert.equal(stages.find(s => s.name === 'build').image, 'debian:bookworm')
  assert.equal(stages.find(s => s.name === 'runtime').image, 'debian:bookworm-slim')
  const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'))
  assert.match(dockerfile, /RUN apt-get update \\\n && scripts\/install-deps /)
  assert.match(runtime, /^USER chatd$/m)
  assert.match(runtime, /^HEALTHCHECK .*\n.*\/healthz/m)
  assert.match(runtime, /^EXPOSE 8080$/m)
  assert.doesNotMatch(runtime, /build-essential|g\+\+|cmake|-dev\b/, 'no compilers or -dev packages at runtime')
  for (const m of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
    for (const src of m[1].split(/\s+/)) assert.ok(existsSync(join(repoRoot, src)), `COPY source ${src} exists`)
  }
})

test('Dockerfile runtime packages provide every shared library chatd links', t => {
  const bin = process.env.CHATD_BIN
  if (!bin) { t.skip('CHATD_BIN not set'); return }
  const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'))
  const list = /apt-get install -y --no-install-recommends \\\n([\s\S]*?)\\\n && rm/.exec(runtime)[1]
    .split(/[\s\\]+/).filter(Boolean)
  // Everything those packages bring (Depends and PreDepends, recursively), plus what is in the
  // bookworm-slim base already.
  const deps = run('apt-cache', ['depends', '--recurse', '--no-recommends', '--no-suggests', '--no-conflicts',
    '--no-breaks', '--no-replaces', '--no-enhances', ...list])
  assert.equal(deps.code, 0, deps.out)
  const provided = new Set(deps.out.split('\n').map(l => l.trim().replace(/^(Pre)?Depends: /, '').replace(/:any$/, ''))
    .filter(l => /^[a-z0-9][a-z0-9.+-]+$/.test(l)))
  for (const p of ['libc6', 'libgcc-s1', 'libstdc++6']) provided.add(p)
  const ldd = run('ldd', [bin])
  assert.equal(ldd.code, 0, ldd.out)
  const libs = [...ldd.out.matchAll(/=> (\/\S+)/g)].map(m => m[1]).filter(p => !/libasan|libubsan/.test(p))
  // dpkg knows a file under the path its package installed it (/lib or /usr/lib: usrmerge).
  const candidates = lib => {
    const real = realpathSync(lib)
    return [...new Set([lib, real].flatMap(p => [p, p.replace(/^\/usr\/lib\//, '/lib/'), p.replace(/^\/lib\//, '/usr/lib/')]))]
  }
  const owners = new Map()
  for (const line of run('dpkg', ['-S', ...libs.flatMap(candidates)]).out.split('\n')) {
    const m = /^([^:\s]+)(?::\w+)?: (\/\S+)$/.exec(line)
    if (m) owners.set(m[2], m[1])
  }
  const missing = []
  for (const lib of libs) {
    const owner = candidates(lib).map(p => owners.get(p)).find(Boolean)
    if (!owner || !provided.has(owner)) missing.push(`${lib} (${owner ?? 'no package'})`)
  }
  assert.deepEqual(missing, [], 'add these packages to the runtime stage of backend/Dockerfile')
})
