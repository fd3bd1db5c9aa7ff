// The benchmark's results (the shape of bench/results.json) and their Markdown rendering, with
// headroom / peer ratios for every figure a peer also has. Pure: no I/O.

export const EXPORTERS = ['headroom', 'node_exporter', 'process-exporter'] as const;
export type ExporterName = (typeof EXPORTERS)[number];
export const PEERS = EXPORTERS.filter((name) => name !== 'headroom');

export interface ScrapeRecord {
  exporter: ExporterName;
  /** Extra sleeping processes in the watched cgroup during this step. */
  processes: number;
  /** Scrapes measured (after the warm-up). */
  scrapes: number;
  p50_ms: number;
  p99_ms: number;
  cpu_seconds_per_1000_scrapes: number;
  rss_bytes: number;
  series: number;
  /** headroom only: each collector's mean time per scrape (its own headroom_scrape_collector_duration_seconds), in ms. */
  collector_ms?: Record<string, number>;
}

export interface IdleRecord { exporter: ExporterName; seconds: number; cpu_seconds: number }

/** RSS at start and after many sequential scrapes, per exporter and configuration. */
export interface EnduranceRecord { exporter: ExporterName; configuration: string; scrapes: number; rss_start_bytes: number; rss_after_bytes: number }

/** headroom's scrapes while something it checks hangs. */
export interface WaitingRecord { situation: string; scrapes: number; p50_ms: number; p99_ms: number; max_ms: number }

export interface IngestRecord {
  connections: number;
  seconds: number;
  /** Answers received. */
  requests: number;
  requests_per_second: number;
  p50_ms: number;
  p99_ms: number;
  answers_201: number;
  other_answers: number;
  answers_by_status: Record<string, number>;
  errors: number;
  /** Rows stored beyond the 201 answers are reports still in flight when the load generator stopped. */
  rows_stored: number;
  /** 201 answers without a stored row. */
  lost: number;
}

export interface Machine { nproc: number; memory: string; cpu_model: string; node: string; kernel: string }

export interface Results {
  machine: Machine;
  quick: boolean;
  started_at: string;
  /** Scrapes per exporter and step: up to scrapes_per_step, at least min_scrapes_per_step, else stopping after seconds_per_step. */
  scrapes_per_step: number;
  min_scrapes_per_step: number;
  seconds_per_step: number;
  warmup_scrapes: number;
  scrapes: ScrapeRecord[];
  idle: IdleRecord[];
  node_floor_rss_bytes: number;
  headroom_rss_bytes: number;
  headroom_rss_over_floor_bytes: number;
  ingest: IngestRecord[];
  endurance?: EnduranceRecord[];
  waiting?: WaitingRecord[];
  /** headroom's /metrics on the ingest instance, after the ingest stored its reports. */
  scrape_after_ingest?: { stored_reports: number; p50_ms: number; p99_ms: number; cpu_seconds_per_1000_scrapes: number };
  /** Why the ingest part has no figures, when it has none. */
  ingest_error?: string;
}

const MIB = 1024 * 1024;

/** Three significant digits, no exponent: 1234 -> "1234", 12.345 -> "12.3", 0.012345 -> "0.0123". */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Math.abs(value) >= 100) return String(Math.round(value));
  if (value === 0) return '0';
  return String(Number(value.toPrecision(3)));
}

export function formatMiB(bytes: number): string {
  return formatNumber(bytes / MIB);
}

/** headroom / peer, "n/a" when the peer's figure is zero. */
export function formatRatio(ours: number, theirs: number): string {
  if (theirs === 0) return 'n/a';
  return `${(ours / theirs).toFixed(2)}`;
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

interface Figure { label: string; value: (record: ScrapeRecord) => number; format: (value: number) => string }

const SCRAPE_FIGURES: Figure[] = [
  { label: 'scrape p50 (ms)', value: (record) => record.p50_ms, format: formatNumber },
  { label: 'scrape p99 (ms)', value: (record) => record.p99_ms, format: formatNumber },
  { label: 'CPU s / 1000 scrapes', value: (record) => record.cpu_seconds_per_1000_scrapes, format: formatNumber },
  { label: 'RSS after (MiB)', value: (record) => record.rss_bytes, format: formatMiB },
  { label: 'series / scrape', value: (record) => record.series, format: formatNumber },
];

const ratioHeaders = PEERS.map((peer) => `headroom / ${peer}`);

export function scrapeTable(records: readonly ScrapeRecord[]): string {
  const counts = [...new Set(records.map((record) => record.processes))].sort((a, b) => a - b);
  const rows: string[][] = [];
  for (const processes of counts) {
    const byExporter = new Map(records.filter((record) => record.processes === processes).map((record) => [record.exporter, record]));
    for (const figure of SCRAPE_FIGURES) {
      const cell = (name: ExporterName) => {
        const record = byExporter.get(name);
        return record ? figure.format(figure.value(record)) : '-';
      };
      const ours = byExporter.get('headroom');
      const ratios = PEERS.map((peer) => {
        const theirs = byExporter.get(peer);
        return ours && theirs ? formatRatio(figure.value(ours), figure.value(theirs)) : '-';
      });
      rows.push([String(processes), figure.label, ...EXPORTERS.map(cell), ...ratios]);
    }
  }
  return markdownTable(['extra processes', 'figure', ...EXPORTERS, ...ratioHeaders], rows);
}

/** headroom's CPU per scrape and per watched process, from its fewest and most processes steps (microseconds). */
export function perProcessCpuMicroseconds(records: readonly ScrapeRecord[]): number | undefined {
  const ours = records.filter((record) => record.exporter === 'headroom').sort((a, b) => a.processes - b.processes);
  const [fewest, most] = [ours[0], ours[ours.length - 1]];
  if (!fewest || !most || most.processes === fewest.processes) return undefined;
  // CPU seconds per 1000 scrapes is milliseconds per scrape.
  return ((most.cpu_seconds_per_1000_scrapes - fewest.cpu_seconds_per_1000_scrapes) * 1000) / (most.processes - fewest.processes);
}

/** The collectors that read every watched process: what each costs per scrape at each step, and per process. */
export const PER_PROCESS_COLLECTORS = ['fds', 'nproc', 'process_group', 'processes', 'pids'] as const;

export function collectorTable(records: readonly ScrapeRecord[]): string | undefined {
  const ours = records.filter((record) => record.exporter === 'headroom' && record.collector_ms).sort((a, b) => a.processes - b.processes);
  const base = ours[0];
  if (!base || ours.length < 2) return undefined;
  const rows = PER_PROCESS_COLLECTORS.map((collector) => {
    const at = (record: ScrapeRecord) => record.collector_ms![collector] ?? 0;
    const most = ours[ours.length - 1]!;
    const perProcess = ((at(most) - at(base)) * 1000) / (most.processes - base.processes);
    return [collector, ...ours.map((record) => formatNumber(at(record))), formatNumber(perProcess)];
  });
  return markdownTable(['collector', ...ours.map((record) => `ms a scrape, ${record.processes} extra`), 'µs per extra process'], rows);
}

/** headroom's scrape against process-exporter's at the largest step: how many times cheaper, by p50 and by CPU. */
export function againstProcessExporter(records: readonly ScrapeRecord[]): { processes: number; p50: number; cpu: number } | undefined {
  const most = Math.max(...records.map((record) => record.processes));
  const ours = records.find((record) => record.exporter === 'headroom' && record.processes === most);
  const theirs = records.find((record) => record.exporter === 'process-exporter' && record.processes === most);
  if (!ours || !theirs || ours.p50_ms === 0 || ours.cpu_seconds_per_1000_scrapes === 0) return undefined;
  return { processes: most, p50: theirs.p50_ms / ours.p50_ms, cpu: theirs.cpu_seconds_per_1000_scrapes / ours.cpu_seconds_per_1000_scrapes };
}

export function idleTable(records: readonly IdleRecord[]): string {
  const byExporter = new Map(records.map((record) => [record.exporter, record]));
  const seconds = records[0]?.seconds ?? 0;
  const value = (name: ExporterName) => byExporter.get(name)?.cpu_seconds;
  const ours = value('headroom');
  const row = [
    `CPU s over ${formatNumber(seconds)} s without scrapes`,
    ...EXPORTERS.map((name) => { const cpu = value(name); return cpu === undefined ? '-' : formatNumber(cpu); }),
    ...PEERS.map((peer) => { const theirs = value(peer); return ours === undefined || theirs === undefined ? '-' : formatRatio(ours, theirs); }),
  ];
  return markdownTable(['figure', ...EXPORTERS, ...ratioHeaders], [row]);
}

function otherAnswers(record: IngestRecord): string {
  const other = Object.entries(record.answers_by_status).filter(([status]) => status !== '201');
  return other.length === 0 ? '0' : other.map(([status, count]) => `${count} x ${status}`).join(', ');
}

export function ingestTable(records: readonly IngestRecord[]): string {
  return markdownTable(
    ['connections', 'seconds', 'accepted/s', 'p50 (ms)', 'p99 (ms)', '201 answers', 'rows stored', 'lost', 'other answers', 'socket errors'],
    records.map((record) => [
      String(record.connections), formatNumber(record.seconds), formatNumber(record.requests_per_second), formatNumber(record.p50_ms),
      formatNumber(record.p99_ms), String(record.answers_201), String(record.rows_stored), String(record.lost), otherAnswers(record), String(record.errors),
    ]),
  );
}

export function enduranceTable(records: readonly EnduranceRecord[]): string {
  return markdownTable(['exporter', 'configuration', 'scrapes', 'RSS at start (MiB)', 'RSS after (MiB)'],
    records.map((record) => [record.exporter, record.configuration, String(record.scrapes), formatMiB(record.rss_start_bytes), formatMiB(record.rss_after_bytes)]));
}

export function waitingTable(records: readonly WaitingRecord[]): string {
  return markdownTable(['headroom scraped while', 'scrapes', 'p50 (ms)', 'p99 (ms)', 'max (ms)'],
    records.map((record) => [record.situation, String(record.scrapes), formatNumber(record.p50_ms), formatNumber(record.p99_ms), formatNumber(record.max_ms)]));
}

export function renderReport(results: Results): string {
  const { machine } = results;
  const parts = [
    `Machine: ${machine.nproc} CPUs (${machine.cpu_model}), ${machine.memory} RAM, Node ${machine.node}, Linux ${machine.kernel}.${results.quick ? ' QUICK run: fewer scrapes, shorter idle and ingest windows.' : ''}`,
    '',
    `### Scrapes (per exporter and step: ${results.warmup_scrapes} warm-up scrapes, then up to ${results.scrapes_per_step} sequential scrapes on one keep-alive connection, stopping after ${formatNumber(results.seconds_per_step)} s once ${results.min_scrapes_per_step} are done)`,
    '',
    scrapeTable(results.scrapes),
    '',
    ...(() => {
      const perProcess = perProcessCpuMicroseconds(results.scrapes);
      return perProcess === undefined ? [] : [`headroom's CPU per watched process (the fds, nproc, process_group and processes collectors read each one's /proc/<pid>/fd, limits and stat): ${formatNumber(perProcess)} µs per scrape.`, ''];
    })(),
    ...(() => {
      const table = collectorTable(results.scrapes);
      return table === undefined ? [] : ['headroom\'s own timing of the collectors that read every process (headroom_scrape_collector_duration_seconds, mean over the step\'s scrapes):', '', table, ''];
    })(),
    ...(() => {
      const against = againstProcessExporter(results.scrapes);
      return against === undefined ? [] : [`At ${against.processes} extra processes a headroom scrape is ${formatNumber(against.p50)}x cheaper than process-exporter's by p50 latency and ${formatNumber(against.cpu)}x by CPU (goal: at least 5x).`, ''];
    })(),
    '### Idle',
    '',
    idleTable(results.idle),
    '',
    `RSS: an empty Node process (\`node -e "setInterval(()=>{},1e9)"\`) holds ${formatMiB(results.node_floor_rss_bytes)} MiB; headroom holds ${formatMiB(results.headroom_rss_bytes)} MiB (its largest RSS after any step), ${formatMiB(results.headroom_rss_over_floor_bytes)} MiB above that floor.`,
    '',
    '### Statistics ingest (POST /statistics to a second headroom with `--statistics.rate-limit=0`, SQLite, wrk with one thread, every report a new report_id)',
    '',
  ];
  if (results.ingest.length > 0) {
    parts.push(ingestTable(results.ingest), '', 'lost: 201 answers without a stored row. Rows beyond the 201 answers were still in flight when wrk stopped.');
  }
  const after = results.scrape_after_ingest;
  if (after) {
    parts.push('', `/metrics of the ingest instance afterwards, with ${after.stored_reports} stored reports: p50 ${formatNumber(after.p50_ms)} ms, p99 ${formatNumber(after.p99_ms)} ms, ${formatNumber(after.cpu_seconds_per_1000_scrapes)} CPU s / 1000 scrapes (its statistics gauges read one row per installation from latest_reports).`);
  }
  if (results.ingest_error) parts.push(`Not measured: ${results.ingest_error}`);
  if (results.endurance?.length) parts.push('', '### Memory after many scrapes (sequential, one keep-alive connection; each exporter fresh)', '', enduranceTable(results.endurance));
  if (results.waiting?.length) parts.push('', '### Scrapes while a health probe or the database hangs (/metrics publishes the last results)', '', waitingTable(results.waiting));
  return parts.join('\n');
}
