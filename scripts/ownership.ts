// Who owns what a test run created on the host (an engine's directory, a network namespace): the owner
// record says "PID START_TIME" of the process that made it, so that a later run can tell a thing whose
// owner died (a crash, a SIGKILL) from one whose owner still runs (another test, another checkout).
import { readFileSync } from 'node:fs';

/** The process's start time (field 22 of /proc/<pid>/stat), or undefined when it is gone or a zombie. */
export function startTime(pid: number): string | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  return startTime(pid) !== undefined;
}

/** The owner record of this process. */
export function ownerRecord(): string {
  return `${process.pid} ${startTime(process.pid)}\n`;
}

/** Whether the process an owner record names has ended (a pid reused since does not count as it). */
export function ownerGone(record: string): boolean {
  const [pid, started] = record.trim().split(' ');
  return startTime(Number(pid)) !== started;
}

export function readIfThere(file: string): string | undefined {
  try { return readFileSync(file, 'utf8'); } catch { return undefined; }
}

export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
