// What the API answers: the overview of every target, and one target's detail over a range. The overview is
// built once per scrape and shared by every viewer until the next one.
import { formatDuration } from '../duration.js';
import { History, summarize, type HistorySeries } from './history.js';
import { METRIC, type PageSource, type PageTarget, type Reading, type SizingDecision, type Snapshot } from './model.js';
import { UnknownRangeError } from './errors.js';
import type { PrometheusFigures } from './prometheus.js';
import { composeSnippet, historyUsage, levelsInfo, MIN_HISTORY_STEPS, recommendedOf, rowOf, sortRows, tiersInfo, type RowRecommendation } from './view.js';
import type { Detail, Marker, Overview, Row, Series } from './web/api-types.js';

/** The throttled share on a row is over this much of the latest history (the alert rules' rate window). */
export const RECENT_SECONDS = 300;
/** The detail's default range: the in-process history. */
export const HISTORY_RANGE = 'history';
const DECISIONS_READ = 1000;

export interface PageDataOptions {
  refreshSeconds: number;
  prometheus?: PrometheusFigures;
}

const orNull = (value: number) => (Number.isFinite(value) ? value : null);

/** A history's columns as the API's series, and its OOM kills and restarts as markers. */
function historySeries(series: HistorySeries): { series: Series; markers: Marker[] } {
  const { t, columns } = series;
  const markers: Marker[] = [];
  const mark = (column: number[], kind: Marker['kind'], noun: string) => {
    let before = Number.NaN;
    column.forEach((total, index) => {
      if (!Number.isFinite(total)) return;
      // A total that went down belongs to a new count (another container of the same name): no marker.
      const added = Number.isFinite(before) && total > before ? total - before : 0;
      if (added > 0) markers.push({ t: t[index]!, kind, text: `${added} ${noun}${added === 1 ? '' : 's'}` });
      before = total;
    });
  };
  mark(columns.oomKills, 'oom_kill', 'OOM kill');
  mark(columns.restarts, 'restart', 'restart');
  return {
    series: {
      t,
      memory_working_set_bytes: columns.workingSet.map(orNull),
      memory_limit_bytes: columns.memoryLimit.map(orNull),
      memory_reservation_bytes: columns.memoryReservation.map(orNull),
      cpu_used_cores: t.map((_, index) => orNull((columns.cpuPercent[index]! * columns.cpuLimit[index]!) / 100)),
      cpu_limit_cores: columns.cpuLimit.map(orNull),
      cpu_throttled_share: t.map((_, index) => (index === 0 || !(columns.periods[index]! > 0) ? null : orNull(columns.throttledPeriods[index]! / columns.periods[index]!))),
    },
    markers,
  };
}

function decisionMarker(decision: SizingDecision): Marker {
  const to = decision.to ? ` to ${decision.to.size}` : '';
  return { t: Date.parse(decision.decided_at) / 1000, kind: 'sizing', text: `sizing ${decision.direction}${to}: ${decision.result} (${decision.reason})` };
}

export class PageData {
  private cached: { atMs: number; overview: Overview; rows: Map<string, { row: Row; reading: Reading }> } | undefined;

  constructor(private readonly source: PageSource, private readonly history: History, private readonly options: PageDataOptions) {}

  get ranges(): string[] {
    return [HISTORY_RANGE, ...(this.options.prometheus ? Object.keys(this.options.prometheus.ranges) : [])];
  }

  private recommendation(reading: Reading, series: HistorySeries | undefined): RowRecommendation {
    if (!reading.values.has(METRIC.memoryWorkingSet)) return { recommended: null, because: 'not running' };
    const fromPrometheus = this.options.prometheus?.recommendation(reading.target);
    if (fromPrometheus?.recommended) return fromPrometheus;
    const { stepSeconds, spanSeconds } = this.history.options;
    const slots = series?.t.length ?? 0;
    if (!series || slots < MIN_HISTORY_STEPS) {
      const wanted = formatDuration(MIN_HISTORY_STEPS * stepSeconds);
      return { recommended: null, because: `${fromPrometheus?.because ? `${fromPrometheus.because}; ` : ''}the page's own history needs ${MIN_HISTORY_STEPS} readings (${wanted} at one every ${formatDuration(stepSeconds)}); it has ${slots}` };
    }
    return { recommended: recommendedOf(historyUsage(reading, summarize(series, RECENT_SECONDS), spanSeconds), 'history'), because: null };
  }

  private async build(snapshot: Snapshot): Promise<NonNullable<PageData['cached']>> {
    const nowSeconds = snapshot.atMs / 1000;
    const lastDecisions = new Map<string, SizingDecision>();
    for (const decision of await this.source.decisions(DECISIONS_READ)) if (!lastDecisions.has(decision.container)) lastDecisions.set(decision.container, decision);
    const rows = new Map<string, { row: Row; reading: Reading }>();
    for (const reading of snapshot.readings) {
      const series = this.history.series(reading.target.key, nowSeconds);
      const summary = series && series.t.length > 0 ? summarize(series, RECENT_SECONDS) : undefined;
      rows.set(reading.target.key, { reading, row: rowOf(reading, summary, this.recommendation(reading, series), lastDecisions.get(reading.target.name)) });
    }
    const { spanSeconds, stepSeconds } = this.history.options;
    const overview: Overview = {
      api_version: 1,
      generated_at: new Date().toISOString(),
      scraped_at: new Date(snapshot.atMs).toISOString(),
      mode: this.source.mode,
      refresh_seconds: this.options.refreshSeconds,
      history: { span_seconds: spanSeconds, step_seconds: stepSeconds, targets: this.history.targets(), bytes: this.history.bytes() },
      prometheus: this.options.prometheus !== undefined,
      levels: levelsInfo(),
      tiers: tiersInfo(),
      containers: sortRows([...rows.values()].map(({ row }) => row)),
    };
    return { atMs: snapshot.atMs, overview, rows };
  }

  /** The overview of the latest scrape no older than the refresh interval. */
  private async current(): Promise<NonNullable<PageData['cached']>> {
    const snapshot = await this.source.current(this.options.refreshSeconds * 1000);
    if (this.cached?.atMs !== snapshot.atMs) this.cached = await this.build(snapshot);
    return this.cached;
  }

  async overview(): Promise<Overview> {
    return (await this.current()).overview;
  }

  /** One target's detail over a range; undefined for a target the exporter does not watch. */
  async detail(key: string, rangeName: string): Promise<Detail | undefined> {
    if (!this.ranges.includes(rangeName)) throw new UnknownRangeError(`range is one of ${this.ranges.join(', ')}`);
    const { overview, rows } = await this.current();
    const found = rows.get(key);
    if (!found) return undefined;
    const { row, reading } = found;
    const endSeconds = Date.parse(overview.scraped_at) / 1000;
    const { prometheus } = this.options;
    let answer: { series: Series; markers: Marker[]; stepSeconds: number; seconds: number; source: 'history' | 'prometheus' };
    if (rangeName === HISTORY_RANGE || !prometheus) {
      const { spanSeconds, stepSeconds } = this.history.options;
      const empty: HistorySeries = { t: [], columns: { workingSet: [], memoryLimit: [], memoryReservation: [], cpuPercent: [], cpuLimit: [], throttledPeriods: [], periods: [], oomKills: [], restarts: [] } };
      answer = { ...historySeries(this.history.series(key, endSeconds) ?? empty), stepSeconds, seconds: spanSeconds, source: 'history' };
    } else {
      const seconds = prometheus.ranges[rangeName]!;
      answer = { ...await prometheus.range(reading.target, seconds, endSeconds), seconds, source: 'prometheus' };
    }
    const start = endSeconds - answer.seconds;
    const decisions = reading.target.kind === 'container' ? await this.source.decisions(100, reading.target.name) : [];
    const markers = [...answer.markers, ...decisions.filter((decision) => Date.parse(decision.decided_at) / 1000 >= start).map(decisionMarker)].sort((a, b) => a.t - b.t);
    return {
      api_version: 1,
      generated_at: new Date().toISOString(),
      container: row,
      range: { name: rangeName, seconds: answer.seconds, step_seconds: answer.stepSeconds, source: answer.source },
      ranges: this.ranges,
      series: answer.series,
      markers,
      compose_snippet: composeSnippet(serviceName(reading.target), row.size.recommended),
      levels: overview.levels,
    };
  }
}

function serviceName(target: PageTarget): string {
  return target.composeService || target.name;
}
