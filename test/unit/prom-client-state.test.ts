// emptyMetric() reaches into prom-client's private state: pinned to the release it was checked against.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Counter, Gauge, Registry } from 'prom-client';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { emptyMetric, PROM_CLIENT_VERSION_CHECKED, removeSeries } from '../../exporter/src/metrics.js';

const require = createRequire(import.meta.url);

test('the installed prom-client is the release emptyMetric() was checked against', () => {
  const { version } = JSON.parse(readFileSync(require.resolve('prom-client/package.json'), 'utf8')) as { version: string };
  assert.is(version, PROM_CLIENT_VERSION_CHECKED, 'prom-client changed: check emptyMetric() against its source, then update PROM_CLIENT_VERSION_CHECKED');
});

test('reset() alone publishes an unlabelled metric as 0; emptyMetric() publishes no sample at all', async () => {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'g', help: 'g', registers: [registry] });
  const counter = new Counter({ name: 'c_total', help: 'c', registers: [registry] });
  const labelled = new Gauge({ name: 'l', help: 'l', labelNames: ['resource'], registers: [registry] });
  gauge.set(5);
  counter.inc(3);
  labelled.set({ resource: 'cpu' }, 1);
  gauge.reset();
  assert.match(await registry.metrics(), /^g 0$/m, 'the behaviour emptyMetric() works around');
  for (const metric of [gauge, counter, labelled]) emptyMetric(metric);
  const text = await registry.metrics();
  assert.not.match(text, /^(g|c_total|l)(\{| )/m, text);
  gauge.set(7);
  labelled.set({ resource: 'memory' }, 2);
  const after = await registry.metrics();
  assert.match(after, /^g 7$/m, 'usable again after being emptied');
  assert.match(after, /^l\{resource="memory"\} 2$/m);
});

test('removeSeries() drops the series that carry the given labels and keeps the others', async () => {
  const registry = new Registry();
  const pressure = new Counter({ name: 'p_total', help: 'p', labelNames: ['container', 'resource'], registers: [registry] });
  for (const container of ['a', 'b']) for (const resource of ['cpu', 'io']) pressure.inc({ container, resource }, 1);
  removeSeries(pressure, { container: 'a' });
  const lines = (await registry.metrics()).split('\n').filter((line) => line.startsWith('p_total{'));
  assert.equal(lines, ['p_total{container="b",resource="cpu"} 1', 'p_total{container="b",resource="io"} 1']);
  removeSeries(pressure, {});
  assert.not.match(await registry.metrics(), /^p_total\{/m, 'no labels given: every series');
});

test.run();
