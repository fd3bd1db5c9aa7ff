// The dashboards as code: committed JSON and provisioning files are what the generator writes now, every panel
// has a unit and a description, every query parses and follows the dashboard-linter rules.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { REPO_ROOT } from '../../scripts/processes.js';
import { dashboards } from '../../dashboards/src/files.js';
import { PROVISIONED_DATASOURCE } from '../../dashboards/src/common.js';
import { THRESHOLDS, TIERS } from '../../exporter/src/thresholds.js';
import { recommendationRecords } from '../../alerting-rules/recommendation.js';
import { annotationQueries, panelQueries, parsePromql, substitute, walk } from '../helpers/dashboard-queries.js';

/** Panels' and annotations' queries: the same rules hold for both. */
const everyQuery = () => [...panelQueries(), ...annotationQueries()];

/** A duration no panel uses on its own, so the rate-interval rule can find $__rate_interval after substitution. */
const RATE_INTERVAL = '1717s';
const MACROS = { __rate_interval: RATE_INTERVAL, __interval: '15s', __range: '6h', window: '7d', host: '.*', instance: '.+', container: '.*', datasource: PROVISIONED_DATASOURCE.uid };
const RATE_FUNCTIONS = new Set(['rate', 'irate', 'increase']);

interface JsonPanel {
  type: string; title: string; id?: number; description?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  fieldConfig?: { defaults?: { unit?: string; thresholds?: { steps: { value: number | null }[] } } };
}

function contentPanels(): { dashboard: string; panel: JsonPanel }[] {
  return Object.entries(dashboards()).flatMap(([name, dashboard]) =>
    ((dashboard.panels ?? []) as unknown as JsonPanel[]).filter((panel) => panel.type !== 'row').map((panel) => ({ dashboard: name, panel })));
}

test('both dashboards exist, with unique panel ids and a uid', () => {
  const built = dashboards();
  assert.equal(Object.keys(built).sort(), ['deployment-size', 'overview']);
  for (const [name, dashboard] of Object.entries(built)) {
    assert.ok(dashboard.uid, name);
    const ids = ((dashboard.panels ?? []) as unknown as JsonPanel[]).map((panel) => panel.id);
    assert.is(new Set(ids).size, ids.length, `${name}: duplicate panel ids ${ids.join(',')}`);
  }
});

test('every panel has a unit, a description and at least one query', () => {
  const panels = contentPanels();
  assert.ok(panels.length >= 25, `${panels.length} panels`);
  for (const { dashboard, panel } of panels) {
    assert.ok(panel.fieldConfig?.defaults?.unit, `${dashboard} / ${panel.title}: no unit`);
    assert.ok((panel.description ?? '').length > 20, `${dashboard} / ${panel.title}: no description`);
    assert.ok((panel.targets ?? []).length > 0, `${dashboard} / ${panel.title}: no query`);
  }
});

test('a datasource variable and an instance variable; every panel and query uses the datasource variable', () => {
  for (const [name, dashboard] of Object.entries(dashboards())) {
    const variables = (dashboard.templating?.list ?? []) as { name: string; type: string; query?: unknown; current?: { value?: unknown } }[];
    const datasource = variables.find((variable) => variable.name === 'datasource');
    assert.is(datasource?.type, 'datasource', name);
    assert.is(datasource?.query, 'prometheus', name);
    assert.is(datasource?.current?.value, PROVISIONED_DATASOURCE.uid, name);
    assert.is(variables.find((variable) => variable.name === 'instance')?.type, 'query', name);
  }
  for (const { dashboard, panel } of contentPanels()) {
    assert.is(panel.datasource?.uid, '${datasource}', `${dashboard} / ${panel.title}`);
    for (const target of panel.targets ?? []) assert.is(target.datasource?.uid, '${datasource}', `${dashboard} / ${panel.title}`);
  }
});

test('every query parses with lezer-promql once Grafana\'s macros are substituted', () => {
  const queries = everyQuery();
  assert.ok(queries.length >= 40, `${queries.length} queries`);
  for (const query of queries) {
    const { errors } = parsePromql(substitute(query.expr, MACROS));
    assert.equal(errors, [], `${query.dashboard} / ${query.panel} / ${query.refId}: ${query.expr}`);
  }
});

test('the parse check fails on a broken query', () => {
  assert.ok(parsePromql('rate(headroom_cpu_usage_seconds_total[5m]').errors.length > 0);
  assert.ok(parsePromql(substitute('sum by (instance) (headroom_processes{instance=~"$instance"}) +', MACROS)).errors.length > 0);
});

test('rate(), irate() and increase() take $__rate_interval; counters (_total) appear only inside them', () => {
  for (const query of everyQuery()) {
    const where = `${query.dashboard} / ${query.panel}: ${query.expr}`;
    const { root } = parsePromql(substitute(query.expr, MACROS));
    for (const node of walk(root)) {
      if (node.name === 'FunctionCall') {
        const name = node.children.find((child) => child.name === 'FunctionIdentifier')?.text ?? '';
        if (!RATE_FUNCTIONS.has(name)) continue;
        const matrix = node.children.find((child) => child.name === 'FunctionCallBody')?.children.find((child) => child.name === 'MatrixSelector');
        assert.ok(matrix, `${name}() without a range vector: ${where}`);
        assert.ok(matrix.text.endsWith(`[${RATE_INTERVAL}]`), `${name}() over ${matrix.text}, not $__rate_interval: ${where}`);
      }
      if (node.name === 'VectorSelector' && /_total$/.test(node.children.find((child) => child.name === 'Identifier')?.text ?? '')) {
        const call = node.parent?.name === 'MatrixSelector' ? node.parent.parent?.parent : undefined;
        const name = call?.children.find((child) => child.name === 'FunctionIdentifier')?.text ?? '';
        assert.ok(RATE_FUNCTIONS.has(name), `${node.text} outside rate()/increase(): ${where}`);
      }
    }
  }
});

test('every query selects the chosen instances, and the chosen containers where its series are a cgroup\'s; not constant tier lines and ALERTS', () => {
  const exporterLevel = /headroom_(health_status|build_info|statistics_)/;
  for (const query of everyQuery()) {
    if (/^vector\([\d.]+\)$/.test(query.expr) || query.expr.startsWith('ALERTS')) continue;
    const where = `${query.dashboard} / ${query.panel}: ${query.expr}`;
    assert.ok(query.expr.includes('host=~"$host",instance=~"$instance"'), where);
    if (!exporterLevel.test(query.expr)) assert.ok(query.expr.includes('container=~"$container"'), where);
    else assert.not.ok(query.expr.includes('container=~'), `exporter-level series have no container label: ${where}`);
  }
  for (const dashboard of Object.values(dashboards())) {
    assert.ok((dashboard.templating?.list ?? []).some((variable) => variable.name === 'container'), 'a container variable');
  }
});

test('percent panels use the thresholds of exporter/src/thresholds.ts; tier lines use the tiers', () => {
  const expected = [null, THRESHOLDS.warning.percent, THRESHOLDS.critical.percent, THRESHOLDS.danger.percent];
  const percentPanels = contentPanels().filter(({ panel }) => /of the limit/.test(panel.title));
  assert.is(percentPanels.length, 7, 'CPU and memory now and over time; file descriptors, pids.max and RLIMIT_NPROC over time');
  for (const { dashboard, panel } of percentPanels) {
    assert.equal(panel.fieldConfig?.defaults?.thresholds?.steps.map((step) => step.value), expected, `${dashboard} / ${panel.title}`);
  }
  const exprs = everyQuery().map((query) => query.expr);
  for (const tier of TIERS) {
    assert.ok(exprs.includes(`vector(${tier.cpuLimitCores})`), `${tier.name} CPU limit line`);
    assert.ok(exprs.includes(`vector(${tier.memoryLimitBytes})`), `${tier.name} memory limit line`);
  }
  assert.ok(exprs.some((expr) => expr.startsWith(recommendationRecords().tierIndex)), 'the recommended tier comes from the recording rule');
});

test('the provisioned datasource has the uid the dashboards default to, and the provider points at the mounted JSON', () => {
  const datasources = parse(readFileSync(path.join(REPO_ROOT, 'dashboards/provisioning/datasources/prometheus.yml'), 'utf8')) as { datasources: { uid: string; type: string }[] };
  assert.equal(datasources.datasources.map((source) => [source.uid, source.type]), [[PROVISIONED_DATASOURCE.uid, 'prometheus']]);
  const providers = parse(readFileSync(path.join(REPO_ROOT, 'dashboards/provisioning/dashboards/headroom.yml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] };
  assert.is(providers.providers[0]?.type, 'file');
  const compose = readFileSync(path.join(REPO_ROOT, 'compose/docker-compose.yml'), 'utf8');
  assert.ok(compose.includes(`../dashboards/json:${providers.providers[0]!.options.path}`), 'compose mounts dashboards/json where the provider reads');
});

test.run();
