// Structure of the Grafana dashboards and provisioning files, without Grafana (it cannot be
// installed here): JSON Schema generated from @grafana/schema's `Dashboard` type (the version of
// the Grafana image in backend/docker-compose.yml), validated with ajv, plus checks the schema
// cannot express. Whether every query parses and returns data is panels.test.mjs's job.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { allPanels, loadDashboards, monitoringDir, parseLabelValues, queryTargets, repoRoot, variableQuery } from './lib/dashboards.mjs'

const here = dirname(fileURLToPath(import.meta.url))
if (!existsSync(join(here, 'node_modules', 'ajv'))) {
  throw new Error(`node_modules missing in ${here}: run npm ci in backend/tests/monitoring`)
}
const require = createRequire(import.meta.url)
const { default: Ajv } = await import('ajv')
const { default: addFormats } = await import('ajv-formats')
const { createGenerator } = require('ts-json-schema-generator')
const YAML = await import('yaml')

const dashboards = loadDashboards()
const readYaml = path => YAML.parse(readFileSync(path, 'utf8'))

// Dashboard type of the installed @grafana/schema (its pinned version = the Grafana image's).
function dashboardSchema () {
  const pkgDir = dirname(require.resolve('@grafana/schema/package.json'))
  const candidates = [
    'dist/esm/raw/dashboard/x/dashboard_types.gen.d.ts', // 11.x
    'dist/types/raw/dashboard/x/types.gen.d.ts' // 12.x and later
  ].map(p => join(pkgDir, p))
  const path = candidates.find(existsSync)
  assert.ok(path, `no dashboard types in @grafana/schema: looked for ${candidates.join(', ')}`)
  return createGenerator({ path, type: 'Dashboard', skipTypeCheck: true, expose: 'export', topRef: true })
    .createSchema('Dashboard')
}

const schema = dashboardSchema()
const ajv = new Ajv({ allErrors: true, strict: false })
addFormats(ajv)
const validate = ajv.compile(schema)
const errorsOf = json => validate(json) ? [] : validate.errors.map(e => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`)

test('there are the two dashboards: chat health and RabbitMQ', () => {
  assert.deepEqual(dashboards.map(d => d.file), ['chat.json', 'rabbitmq.json'])
})

for (const { file, json } of dashboards) {
  test(`${file} is valid against the @grafana/schema Dashboard type`, () => {
    assert.deepEqual(errorsOf(json), [])
  })

  test(`${file}: uid, title, unique panel ids, every panel titled, placed and queried`, () => {
    assert.match(json.uid ?? '', /^[a-zA-Z0-9_-]{1,40}$/, 'uid set (Grafana: at most 40 characters)')
    assert.ok(json.title, 'title set')
    const ids = [...allPanels(json)].map(p => p.id)
    assert.equal(new Set(ids).size, ids.length, `duplicate panel ids: ${ids}`)
    for (const panel of allPanels(json)) {
      const where = `panel ${panel.id} "${panel.title}"`
      assert.ok(Number.isInteger(panel.id) && panel.id > 0, `${where}: id`)
      assert.ok(panel.title, `${where}: title`)
      assert.ok(panel.gridPos && panel.gridPos.x + panel.gridPos.w <= 24, `${where}: gridPos within 24 columns`)
      if (panel.type === 'row') continue
      assert.ok(panel.targets?.length > 0, `${where}: has queries`)
      const refIds = panel.targets.map(t => t.refId)
      assert.equal(new Set(refIds).size, refIds.length, `${where}: refIds unique`)
      for (const t of panel.targets) assert.ok(t.expr?.trim(), `${where} ${t.refId}: expr`)
    }
  })

  test(`${file}: panels, queries and variables use the provisioned Prometheus datasource`, () => {
    const ds = readYaml(join(monitoringDir, 'grafana/provisioning/datasources/prometheus.yml')).datasources
    const uids = new Set(ds.map(d => d.uid))
    for (const panel of allPanels(json)) {
      for (const obj of [panel, ...(panel.targets ?? [])]) {
        if (obj.datasource) assert.ok(uids.has(obj.datasource.uid), `panel ${panel.id}: datasource ${JSON.stringify(obj.datasource)}`)
      }
    }
    for (const v of json.templating?.list ?? []) {
      if (v.type !== 'query') continue
      assert.ok(uids.has(v.datasource?.uid), `variable ${v.name}: datasource`)
      assert.ok(parseLabelValues(variableQuery(v)), `variable ${v.name}: label_values(metric, label) expected`)
    }
  })

  test(`${file}: every query uses only known variables`, () => {
    const known = new Set(['__rate_interval', '__interval', '__range', ...(json.templating?.list ?? []).map(v => v.name)])
    for (const { panel, target } of queryTargets(json)) {
      for (const m of target.expr.matchAll(/\$\{?(\w+)/g)) {
        assert.ok(known.has(m[1]), `panel ${panel.id} ${target.refId}: unknown variable $${m[1]}`)
      }
    }
  })
}

test('dashboard uids are unique across files, and the links between them resolve', () => {
  const uids = dashboards.map(d => d.json.uid)
  assert.equal(new Set(uids).size, uids.length)
  for (const { file, json } of dashboards) {
    for (const link of json.links ?? []) {
      const m = /^\/d\/([^/?]+)/.exec(link.url ?? '')
      if (m) assert.ok(uids.includes(m[1]), `${file}: link to unknown dashboard ${link.url}`)
    }
  }
})

test('provisioning: the dashboard provider path and the home dashboard match the compose mounts', () => {
  const providers = readYaml(join(monitoringDir, 'grafana/provisioning/dashboards/dashboards.yml')).providers
  assert.equal(providers.length, 1)
  const compose = readYaml(join(repoRoot, 'backend/docker-compose.yml'))
  const grafana = compose.services.grafana
  const mounts = grafana.volumes.map(v => String(v).split(':'))
  const dashMount = mounts.find(([src]) => src.replace(/\/$/, '').endsWith('monitoring/grafana/dashboards'))
  assert.ok(dashMount, 'compose mounts monitoring/grafana/dashboards into grafana')
  assert.equal(providers[0].options.path, dashMount[1])
  const env = grafana.environment
  const home = Array.isArray(env)
    ? env.find(e => e.startsWith('GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH='))?.split('=')[1]
    : env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH
  assert.equal(home, `${dashMount[1]}/chat.json`, 'home dashboard = chat health')
  assert.ok(mounts.some(([src, dst]) => src.replace(/\/$/, '').endsWith('monitoring/grafana/provisioning') && dst === '/etc/grafana/provisioning'))
})

test('the validator rejects a broken dashboard (so a pass above means something)', () => {
  const broken = structuredClone(dashboards[0].json)
  broken.graphTooltip = 7
  broken.panels[0].gridPos.w = 'wide'
  broken.panels[1].targets = {}
  const errors = errorsOf(broken)
  assert.ok(errors.some(e => e.startsWith('/graphTooltip')), errors.join('\n'))
  assert.ok(errors.some(e => e.startsWith('/panels/0/gridPos/w')), errors.join('\n'))
  assert.ok(errors.some(e => e.startsWith('/panels/1/targets')), errors.join('\n'))
})
