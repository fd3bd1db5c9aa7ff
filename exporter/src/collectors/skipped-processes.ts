// What a per-process collector left out of a target's figures, as notes for /health: processes that exited
// while they were read (nothing lost: what they held went with them), and processes the exporter may not read
// (the figures are a lower bound).
import type { SampleSink } from '../scrape/collector.js';

/** Processes named in a note; the rest are counted. */
const NAMED = 5;

function named<T>(items: readonly T[], show: (item: T) => string): string {
  const shown = items.slice(0, NAMED).map(show).join(', ');
  return items.length > NAMED ? `${shown} and ${items.length - NAMED} more` : shown;
}

export interface SkippedProcesses {
  exited: readonly number[];
  unreadable: ReadonlyArray<{ pid: number; reason: string }>;
}

/** Notes `skipped` on `out`; `what` says what was read of each process ("open file descriptors"). */
export function noteSkippedProcesses(out: SampleSink, what: string, skipped: SkippedProcesses): void {
  const { exited, unreadable } = skipped;
  if (exited.length > 0) out.note(`${exited.length} process${exited.length === 1 ? '' : 'es'} exited while ${what} were read: ${named(exited, String)}`, false);
  if (unreadable.length > 0) {
    out.note(`${what} of ${unreadable.length} process${unreadable.length === 1 ? '' : 'es'} cannot be read and are left out: ${named(unreadable, ({ pid, reason }) => `${pid} (${reason})`)}`, true);
  }
}
