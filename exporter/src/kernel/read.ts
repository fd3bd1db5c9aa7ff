// The one reader of kernel files (cgroupfs, procfs), capped at MAX_KERNEL_FILE_BYTES.
// Kernel files are generated in memory and never block on a disk, so they are read synchronously into one
// reused buffer: an asynchronous readFile costs four thread-pool round trips (open, fstat, read, close) and
// made up half of a scrape's CPU time.
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';

/** No kernel file headroom reads comes near this; a larger one is refused before it fills memory. */
export const MAX_KERNEL_FILE_BYTES = 1024 * 1024;

const buffer = Buffer.allocUnsafe(MAX_KERNEL_FILE_BYTES + 1);

export interface ReadOptions {
  /**
   * The file is one record of the kernel's seq_file (a cgroup control file, /proc/<pid>/stat, limits,
   * status, meminfo): seq_read hands a record out whole, growing its buffer until it fits, so a read that
   * leaves room is the end and the second read that would return 0 is saved (it counts at hundreds of
   * containers and thousands of processes). A file of many records (cgroup.procs, tasks, mountinfo, vmstat)
   * comes in pieces of a page when it is longer, and is read until a read returns 0.
   */
  oneRead?: boolean;
  /** An empty file is an error unless allowed (an empty cgroup.procs is valid, an empty memory.max is not). */
  allowEmpty?: boolean;
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** Reads a whole kernel file (its size is unknown until read: stat says 4096 or 0). */
export function readKernelFile(file: string, options: ReadOptions = {}): string {
  const fd = openSync(file, 'r');
  let length = 0;
  try {
    for (;;) {
      const room = buffer.length - length;
      const read = readSync(fd, buffer, length, room, null);
      length += read;
      if (length > MAX_KERNEL_FILE_BYTES) throw new Error(`${file} is larger than ${MAX_KERNEL_FILE_BYTES} bytes`);
      if (read === 0 || (options.oneRead && read < room)) break;
    }
  } finally {
    closeSync(fd);
  }
  if (length === 0 && !options.allowEmpty) throw new Error(`${file} is empty`);
  return buffer.toString('utf8', 0, length);
}

/** The file's text, or undefined when it does not exist. */
export function readOptionalKernelFile(file: string, options: ReadOptions = {}): string | undefined {
  try {
    return readKernelFile(file, options);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Whether an error says the process exited (its /proc entry is gone, or going). */
export function isGoneError(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'ENOENT' || code === 'ESRCH';
}

/** Whether an error says the exporter may not read the file (another user's process; procfs mounted with hidepid). */
export function isPermissionError(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'EACCES' || code === 'EPERM';
}

/** A file under /proc/<pid>/: undefined when the process exited between the listing and the read. */
export function readProcessFile(file: string, options: ReadOptions = {}): string | undefined {
  try {
    return readKernelFile(file, options);
  } catch (error) {
    if (isGoneError(error)) return undefined;
    throw error;
  }
}

/** Parses a file's text; a format error names the file. Cgroup control files are one record (see oneRead). */
export function readParsed<T>(dir: string, name: string, parse: (text: string) => T, options: ReadOptions = { oneRead: true }): T {
  // Not path.join: this runs for every file of every container of a scrape, and the names are plain.
  const file = `${dir}/${name}`;
  const text = readKernelFile(file, options);
  try {
    return parse(text);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}

/**
 * Readings shared by the targets of one scrape: the limits of the cgroups above them (every container of
 * an engine has the same parents). The scrape makes one and drops it; a reader without one reads afresh.
 */
export class ReadingCache {
  private readonly outcomes = new Map<string, { value: unknown } | { error: unknown }>();

  /** The reading under `key`, read once; a failure (a root without the file) is thrown again. */
  read<T>(key: string, read: () => T): T {
    let outcome = this.outcomes.get(key);
    if (outcome === undefined) {
      try {
        outcome = { value: read() };
      } catch (error) {
        outcome = { error };
      }
      this.outcomes.set(key, outcome);
    }
    if ('error' in outcome) throw outcome.error;
    return outcome.value as T;
  }
}

/**
 * Where a reader may take readings others already made. `shared`: the parents' limits, one cache per scrape.
 * `limits`: the cgroup's own limit and reservation files, kept by the cgroup's owner for as long as it
 * knows they have not changed (host mode: until the engine reports an update or a start). Without either,
 * every file is read afresh.
 */
export interface Readings {
  shared?: ReadingCache;
  limits?: ReadingCache;
}

/** Reads through `cache` when there is one. */
export function readThrough<T>(cache: ReadingCache | undefined, key: string, read: () => T): T {
  return cache === undefined ? read() : cache.read(key, read);
}

/** Like readParsed, or undefined when the file does not exist. */
export function readOptionalParsed<T>(file: string, parse: (text: string) => T): T | undefined {
  const text = readOptionalKernelFile(file, { oneRead: true });
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
}
