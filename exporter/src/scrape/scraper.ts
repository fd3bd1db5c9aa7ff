// One scrape: the targets of this scrape (the sidecar's one cgroup, or host mode's containers), each
// collector run over each of them, into one result: every sample by family, each target's own values, each
// collector's success and duration. Concurrent callers share the scrape in flight, so two Prometheus
// servers cost one read of the kernel files.
import type { Logger } from 'pino';
import type { Collector, SampleSink, TargetReading } from './collector.js';
import type { CgroupLocation } from '../kernel/cgroup.js';
import { readPids } from '../kernel/processes.js';
import { ReadingCache } from '../kernel/read.js';
import { gauge, type FamilySpec, type Labels, type Sample } from './samples.js';
import type { Target, TargetSource } from './target.js';

/** Something a collector left out of a target's figures (see SampleSink.note). */
export interface CollectorNote { message: string; degraded: boolean }

export interface CollectorOutcome { success: boolean; durationSeconds: number; error?: string; notes?: CollectorNote[] }

export interface TargetResult {
  target: Target;
  /** Where its cgroup was found (absent when it could not be). */
  location?: CgroupLocation;
  /** The target's samples of the families without labels of their own, by family name, as /metrics shows them. */
  values: ReadonlyMap<string, number>;
}

export interface ScrapeResult {
  /** When the scrape started (wall clock, ms). */
  atMs: number;
  collectors: Readonly<Record<string, CollectorOutcome>>;
  targets: readonly TargetResult[];
  /** Every sample of the scrape, by family name. */
  samples: ReadonlyMap<string, readonly Sample[]>;
}

export const COLLECTOR_SUCCESS = gauge('headroom_scrape_collector_success', 'Whether a collector succeeded (1) or failed (0) in this scrape.', ['collector']);
export const COLLECTOR_DURATION = gauge('headroom_scrape_collector_duration_seconds', 'Time a collector took in this scrape.', ['collector']);
export const CGROUP_INFO = gauge('headroom_cgroup_info', 'The watched cgroup: its path, the host\'s cgroup mode (v1, v2, hybrid, none) and where CPU usage is read (cgroup: its accounting counter; processes: summed from its processes, when v1 cpu and cpuacct place them in different cgroups). Always 1.', ['path', 'mode', 'cpu_usage']);

/** Computes a value once, on first use; a failure is thrown again to every later caller. */
function once<T>(compute: () => T): () => T {
  let outcome: { value: T } | { error: unknown } | undefined;
  return () => {
    if (outcome === undefined) {
      try {
        outcome = { value: compute() };
      } catch (error) {
        outcome = { error };
      }
    }
    if ('error' in outcome) throw outcome.error;
    return outcome.value;
  };
}

function readingOf(target: Target, procfs: string, shared: ReadingCache): TargetReading {
  const location = once(() => target.locate(shared));
  return { target, procfs, location, pids: once(() => readPids(location(), procfs, shared)), readings: target.limits ? { shared, limits: target.limits } : { shared } };
}

/** Collects one (collector, target)'s samples; they count only once the step has finished. */
class PendingSamples implements SampleSink {
  private readonly families: FamilySpec[] = [];
  private readonly values: number[] = [];
  private readonly labels: Array<Labels | undefined> = [];
  private readonly notes: CollectorNote[] = [];

  add(family: FamilySpec, value: number, labels?: Labels): void {
    this.families.push(family);
    this.values.push(value);
    this.labels.push(labels);
  }

  note(message: string, degraded: boolean): void {
    this.notes.push({ message, degraded });
  }

  /** Moves the samples into the scrape's families and the target's values, the notes into `notes`, then empties itself. */
  commit(target: Target, samples: Map<string, Sample[]>, values: Map<string, number>, notes: CollectorNote[]): void {
    for (const note of this.notes) notes.push(target.kind === 'container' ? { ...note, message: `${target.name}: ${note.message}` } : note);
    for (let index = 0; index < this.families.length; index += 1) {
      const family = this.families[index]!;
      const own = this.labels[index];
      const value = this.values[index]!;
      let list = samples.get(family.name);
      if (list === undefined) samples.set(family.name, (list = []));
      list.push({ labels: own === undefined ? target.labels : { ...target.labels, ...own }, value });
      if (own === undefined) values.set(family.name, value);
    }
    this.discard();
  }

  discard(): void {
    this.families.length = 0;
    this.values.length = 0;
    this.labels.length = 0;
    this.notes.length = 0;
  }
}

export class Scraper {
  private inFlight: Promise<ScrapeResult> | undefined;
  private last: ScrapeResult | undefined;
  private readonly listeners: Array<(result: ScrapeResult) => void> = [];

  constructor(
    private readonly collectors: readonly Collector[],
    private readonly source: TargetSource,
    private readonly procfs: string,
    private readonly log: Logger,
  ) {}

  /** The families a scrape can publish: every collector's, then the scrape's own. */
  families(): FamilySpec[] {
    return [...this.collectors.flatMap((collector) => collector.families), COLLECTOR_SUCCESS, COLLECTOR_DURATION, CGROUP_INFO];
  }

  /** The last finished scrape's result, if any. */
  latest(): ScrapeResult | undefined {
    return this.last;
  }

  /** The last result when it started less than maxAgeMs ago; else a new scrape (joining one in flight). */
  result(maxAgeMs = 0): Promise<ScrapeResult> {
    if (this.last !== undefined && maxAgeMs > 0 && Date.now() - this.last.atMs < maxAgeMs) return Promise.resolve(this.last);
    this.inFlight ??= this.run().finally(() => { this.inFlight = undefined; });
    return this.inFlight;
  }

  /** Called with every new result (the page's history). */
  onResult(listener: (result: ScrapeResult) => void): void {
    this.listeners.push(listener);
  }

  private async run(): Promise<ScrapeResult> {
    const atMs = Date.now();
    const shared = new ReadingCache();
    const targets = await this.source.targets();
    const readings = targets.map((target) => readingOf(target, this.procfs, shared));
    const values = targets.map(() => new Map<string, number>());
    const samples = new Map<string, Sample[]>();
    const collectors: Record<string, CollectorOutcome> = {};
    const pending = new PendingSamples();
    for (const collector of this.collectors) {
      const started = performance.now();
      const errors: string[] = [];
      const notes: CollectorNote[] = [];
      for (let index = 0; index < readings.length; index += 1) {
        const reading = readings[index]!;
        try {
          await collector.collect(reading, pending);
          pending.commit(reading.target, samples, values[index]!, notes);
        } catch (error) {
          pending.discard();
          if (reading.target.isGone?.()) continue; // removed mid-scrape: its series go, nothing failed
          const message = error instanceof Error ? error.message : String(error);
          this.log.warn({ collector: collector.name, target: reading.target.name, err: message }, 'collector failed');
          errors.push(reading.target.kind === 'container' ? `${reading.target.name}: ${message}` : message);
        }
      }
      const outcome: CollectorOutcome = { success: errors.length === 0, durationSeconds: (performance.now() - started) / 1000 };
      if (errors.length > 0) outcome.error = errors.join('; ');
      if (notes.length > 0) outcome.notes = notes;
      collectors[collector.name] = outcome;
    }
    const results: TargetResult[] = readings.map((reading, index) => {
      const result: TargetResult = { target: reading.target, values: values[index]! };
      try {
        result.location = reading.location();
      } catch {
        // Already reported by every collector that needed it.
      }
      return result;
    });
    samples.set(COLLECTOR_SUCCESS.name, Object.entries(collectors).map(([collector, outcome]) => ({ labels: { collector }, value: outcome.success ? 1 : 0 })));
    samples.set(COLLECTOR_DURATION.name, Object.entries(collectors).map(([collector, outcome]) => ({ labels: { collector }, value: outcome.durationSeconds })));
    // A container's identity is headroom_container_info (the budget is 30 series a container).
    samples.set(CGROUP_INFO.name, results.flatMap(({ target, location }) => (target.kind === 'container' || location === undefined ? []
      : [{ labels: { ...target.labels, path: location.path, mode: location.mode, cpu_usage: location.cpuUsage }, value: 1 }])));
    const result: ScrapeResult = { atMs, collectors, targets: results, samples };
    this.last = result;
    for (const listener of this.listeners) {
      try {
        listener(result);
      } catch (error) {
        this.log.error({ err: (error as Error).message }, 'a scrape listener failed');
      }
    }
    return result;
  }
}
