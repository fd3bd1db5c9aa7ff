// The benchmark's pure parts: percentiles, /proc parsing, series counting and the Markdown report.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { enterCgroupScript } from '../../bench/cgroup.js';
import { collectorMilliseconds, countSeries, cpuSecondsPer1000, parseProcStatCpuTicks, parseVmRssBytes, percentile, summarizeLatencies } from '../../bench/measure.js';
import { againstProcessExporter, collectorTable, perProcessCpuMicroseconds, enduranceTable, formatNumber, formatRatio, idleTable, ingestTable, markdownTable, renderReport, scrapeTable, waitingTable, type Results, type ScrapeRecord } from '../../bench/report.js';
import { parseWrkResult } from '../../bench/wrk-result.js';

test('percentile: nearest rank over unsorted samples', () => {
  const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
  assert.is(percentile(samples, 50), 5);
  assert.is(percentile(samples, 99), 10);
  assert.is(percentile(samples, 100), 10);
  assert.is(percentile(samples, 0), 1);
  assert.is(percentile(samples, 10), 1);
  assert.is(percentile(samples, 11), 2);
  assert.is(percentile([7], 99), 7);
  assert.equal(samples, [5, 1, 4, 2, 3, 10, 9, 8, 7, 6], 'the samples are not reordered');
  const hundred = Array.from({ length: 100 }, (_, index) => 100 - index);
  assert.equal(summarizeLatencies(hundred), { p50: 50, p99: 99 });
  assert.throws(() => percentile([], 50));
  assert.throws(() => percentile([1], 101));
});

test('/proc/<pid>/stat: utime + stime, with spaces and ")" in the command name', () => {
  const stat = '812 (node (x) y) S 1 812 812 0 -1 4194560 9000 0 12 0 1234 567 0 0 20 0 11 0 4567 1200000000 30000 18446744073709551615\n';
  assert.is(parseProcStatCpuTicks(stat), 1801);
  assert.throws(() => parseProcStatCpuTicks('812 node S 1'));
  assert.is(cpuSecondsPer1000(1801, 500), 36.02);
  assert.throws(() => cpuSecondsPer1000(10, 0));
});

test('/proc/<pid>/status: VmRSS in bytes', () => {
  assert.is(parseVmRssBytes('Name:\tnode\nVmHWM:\t  90000 kB\nVmRSS:\t   51200 kB\nThreads:\t11\n'), 51200 * 1024);
  assert.throws(() => parseVmRssBytes('Name:\tkthreadd\nThreads:\t1\n'));
});

test('series: non-comment, non-empty lines of an exposition', () => {
  const exposition = '# HELP a A.\n# TYPE a gauge\na 1\na{x="#"} 2\n\n  # indented comment\nb_total 3\n';
  assert.is(countSeries(exposition), 3);
  assert.is(countSeries(''), 0);
});

test('numbers and ratios', () => {
  assert.is(formatNumber(1234.4), '1234');
  assert.is(formatNumber(12.345), '12.3');
  assert.is(formatNumber(0.012345), '0.0123');
  assert.is(formatNumber(0), '0');
  assert.is(formatRatio(1, 4), '0.25');
  assert.is(formatRatio(3, 0), 'n/a');
  assert.is(markdownTable(['a', 'b'], [['1', '2']]), '| a | b |\n| --- | --- |\n| 1 | 2 |');
});

const record = (exporter: ScrapeRecord['exporter'], processes: number, p50: number, cpu: number): ScrapeRecord => ({
  exporter, processes, scrapes: 100, p50_ms: p50, p99_ms: p50 * 2, cpu_seconds_per_1000_scrapes: cpu, rss_bytes: 20 * 1024 * 1024, series: 100,
});

test('scrape table: one row per process count and figure, with headroom / peer ratios', () => {
  const table = scrapeTable([
    record('process-exporter', 10, 40, 30), record('headroom', 10, 2, 3), record('node_exporter', 10, 8, 6),
    record('headroom', 0, 1, 1), record('node_exporter', 0, 4, 2),
  ]);
  const lines = table.split('\n');
  assert.is(lines[0], '| extra processes | figure | headroom | node_exporter | process-exporter | headroom / node_exporter | headroom / process-exporter |');
  assert.is(lines.length, 2 + 2 * 5);
  assert.is(lines[2], '| 0 | scrape p50 (ms) | 1 | 4 | - | 0.25 | - |', 'a missing exporter is a dash, counts ascend');
  assert.ok(lines.includes('| 10 | scrape p50 (ms) | 2 | 8 | 40 | 0.25 | 0.05 |'));
  assert.ok(lines.includes('| 10 | CPU s / 1000 scrapes | 3 | 6 | 30 | 0.50 | 0.10 |'));
  assert.ok(lines.includes('| 10 | RSS after (MiB) | 20 | 20 | 20 | 1.00 | 1.00 |'));
});

test('idle table: a peer that used no CPU gives no ratio', () => {
  const table = idleTable([
    { exporter: 'headroom', seconds: 60, cpu_seconds: 0.02 },
    { exporter: 'node_exporter', seconds: 60, cpu_seconds: 0 },
    { exporter: 'process-exporter', seconds: 60, cpu_seconds: 0.04 },
  ]);
  assert.is(table.split('\n')[2], '| CPU s over 60 s without scrapes | 0.02 | 0 | 0.04 | n/a | 0.50 |');
});

test('report: machine, floor, and why ingest has no figures', () => {
  const results: Results = {
    machine: { nproc: 2, memory: '23.5 GiB', cpu_model: 'AMD EPYC', node: 'v20.20.2', kernel: '6.1' },
    quick: true, started_at: '2026-01-01T00:00:00.000Z', scrapes_per_step: 40, min_scrapes_per_step: 10, seconds_per_step: 2.5, warmup_scrapes: 3,
    scrapes: [record('headroom', 0, 1, 1)], idle: [],
    node_floor_rss_bytes: 40 * 1024 * 1024, headroom_rss_bytes: 60 * 1024 * 1024, headroom_rss_over_floor_bytes: 20 * 1024 * 1024,
    ingest: [], ingest_error: 'POST /statistics answered 404',
    scrape_after_ingest: { stored_reports: 60_000, p50_ms: 15.25, p99_ms: 30, cpu_seconds_per_1000_scrapes: 14 },
  };
  const report = renderReport(results);
  assert.match(report, 'Machine: 2 CPUs (AMD EPYC), 23.5 GiB RAM');
  assert.match(report, 'QUICK run');
  assert.match(report, 'holds 40 MiB; headroom holds 60 MiB (its largest RSS after any step), 20 MiB above that floor');
  assert.match(report, 'Not measured: POST /statistics answered 404');
  assert.match(report, 'with 60000 stored reports: p50 15.3 ms, p99 30 ms, 14 CPU s / 1000 scrapes');
});

test('CPU per watched process, from the fewest and most processes steps', () => {
  const step = (processes: number, cpu: number): ScrapeRecord => ({ exporter: 'headroom', processes, scrapes: 500, p50_ms: 1, p99_ms: 2, cpu_seconds_per_1000_scrapes: cpu, rss_bytes: 1, series: 1 });
  assert.is(perProcessCpuMicroseconds([step(2000, 27), step(0, 2.5), step(200, 5)]), 12.25);
  assert.is(perProcessCpuMicroseconds([step(0, 2.5)]), undefined);
});

test('collector timings: per scrape at each step and per extra process; against process-exporter at the largest step', () => {
  assert.equal(collectorMilliseconds('# HELP x\nheadroom_scrape_collector_duration_seconds{collector="fds"} 0.0025\nheadroom_scrape_collector_duration_seconds{collector="pids"} 0.0001\n'), { fds: 2.5, pids: 0.1 });
  const step = (processes: number, fds: number, p50: number): ScrapeRecord => ({ exporter: 'headroom', processes, scrapes: 10, p50_ms: p50, p99_ms: p50, cpu_seconds_per_1000_scrapes: p50, rss_bytes: 1, series: 1, collector_ms: { fds, nproc: 0.5 } });
  const table = collectorTable([step(2000, 40.5, 80), step(0, 0.5, 5), step(200, 4.5, 12)])!.split('\n');
  assert.is(table[0], '| collector | ms a scrape, 0 extra | ms a scrape, 200 extra | ms a scrape, 2000 extra | µs per extra process |');
  assert.is(table[2], '| fds | 0.5 | 4.5 | 40.5 | 20 |');
  assert.is(table[3], '| nproc | 0.5 | 0.5 | 0.5 | 0 |');
  const peer: ScrapeRecord = { exporter: 'process-exporter', processes: 2000, scrapes: 10, p50_ms: 500, p99_ms: 600, cpu_seconds_per_1000_scrapes: 560, rss_bytes: 1, series: 1 };
  assert.equal(againstProcessExporter([step(2000, 40.5, 80), step(0, 0.5, 5), peer]), { processes: 2000, p50: 6.25, cpu: 7 });
});

test('memory after many scrapes, and scrapes while something hangs', () => {
  const memory = enduranceTable([{ exporter: 'headroom', configuration: '--statistics.enabled=false', scrapes: 10_000, rss_start_bytes: 50 * 2 ** 20, rss_after_bytes: 63.25 * 2 ** 20 }]);
  assert.is(memory.split('\n')[2], '| headroom | --statistics.enabled=false | 10000 | 50 | 63.3 |');
  const waiting = waitingTable([{ situation: 'target health URL never answers', scrapes: 600, p50_ms: 2.71, p99_ms: 8.394, max_ms: 22.8 }]);
  assert.is(waiting.split('\n')[2], '| target health URL never answers | 600 | 2.71 | 8.39 | 22.8 |');
});

test('wrk: the result line of post-report.lua, and what is not one', () => {
  const stdout = 'Running 10s test @ http://127.0.0.1:1/statistics\n  1 threads and 10 connections\nWRK_RESULT {"requests":2500,"duration_us":1000000,"p50_us":3560,"p99_us":13970,"socket_errors":0,"statuses":{"201":2490,"503":10}}\n';
  assert.equal(parseWrkResult(stdout), { requests: 2500, duration_us: 1_000_000, p50_us: 3560, p99_us: 13970, socket_errors: 0, statuses: { 201: 2490, 503: 10 } });
  assert.throws(() => parseWrkResult('Running 10s test\n'));
  assert.throws(() => parseWrkResult('WRK_RESULT {"requests":-1,"duration_us":1,"p50_us":1,"p99_us":1,"socket_errors":0,"statuses":{}}'));
  assert.throws(() => parseWrkResult('WRK_RESULT {"requests":1,"duration_us":1,"p50_us":1,"p99_us":1,"socket_errors":0,"statuses":{"ok":1}}'));
});

test('ingest table: answers other than 201 by status, lost reports', () => {
  const table = ingestTable([{
    connections: 10, seconds: 10, requests: 20_010, requests_per_second: 2000, p50_ms: 3.5, p99_ms: 14, answers_201: 20_000,
    other_answers: 10, answers_by_status: { 201: 20_000, 503: 10 }, errors: 0, rows_stored: 20_003, lost: 0,
  }]);
  assert.is(table.split('\n')[2], '| 10 | 10 | 2000 | 3.5 | 14 | 20000 | 20003 | 0 | 10 x 503 | 0 |');
});

test('the cgroup entry script moves the shell into every hierarchy before exec', () => {
  assert.is(enterCgroupScript(['/sys/fs/cgroup/memory/b', '/sys/fs/cgroup/pids/b']),
    "echo $$ > '/sys/fs/cgroup/memory/b/cgroup.procs' || exit 97; echo $$ > '/sys/fs/cgroup/pids/b/cgroup.procs' || exit 97; exec \"$@\"");
});

test.run();
