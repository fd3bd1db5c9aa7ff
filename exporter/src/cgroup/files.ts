// Small readers over the pure parsers: one file, one value.
// Kernel files (cgroupfs, procfs) are generated in memory and never block on a disk, so they are read
// synchronously: an asynchronous readFile costs four thread-pool round trips (open, fstat, read, close) and
// made up half of a scrape's CPU time.
import { closeSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
import { parseFlatKeyed, parseInteger, parsePressure, type Pressure } from './parse.js';
import { ancestry, type Hierarchy } from './resolve.js';

/** No kernel file headroom reads comes near this; a larger one is refused before it fills memory. */
export const MAX_KERNEL_FILE_BYTES = 1024 * 1024;

const readBuffer = Buffer.allocUnsafe(MAX_KERNEL_FILE_BYTES + 1);

/** Reads a whole kernel file (their size is unknown until read: stat says 4096 or 0). */
export async function readText(file: string): Promise<string> {
  const fd = openSync(file, 'r');
  let length = 0;
  try {
    for (;;) {
      const read = readSync(fd, readBuffer, length, readBuffer.length - length, null);
      if (read === 0) break;
      length += read;
      if (length > MAX_KERNEL_FILE_BYTES) throw new Error(`${file} is larger than ${MAX_KERNEL_FILE_BYTES} bytes`);
    }
  } finally {
    closeSync(fd);
  }
  if (length === 0) throw new Error(`${file} is empty`);
  return readBuffer.toString('utf8', 0, length);
}

export async function readOptionalText(file: string): Promise<string | undefined> {
  try {
    return await readText(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function withFile<T>(file: string, parse: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return parse(text);
    } catch (error) {
      throw new Error(`${file}: ${(error as Error).message}`);
    }
  };
}

export async function readInteger(dir: string, name: string): Promise<number> {
  const file = path.join(dir, name);
  return withFile(file, parseInteger)(await readText(file));
}

export async function readFlatKeyed(dir: string, name: string): Promise<Map<string, number>> {
  const file = path.join(dir, name);
  return withFile(file, parseFlatKeyed)(await readText(file));
}

export async function readParsed<T>(dir: string, name: string, parse: (text: string) => T): Promise<T> {
  const file = path.join(dir, name);
  return withFile(file, parse)(await readText(file));
}

export async function readOptionalPressure(file: string): Promise<Pressure | undefined> {
  const text = await readOptionalText(file);
  return text === undefined ? undefined : withFile(file, parsePressure)(text);
}

/**
 * The smallest limit on the way from the cgroup up to its mount point.
 * `readLimit` returns null for "unlimited"; a directory without the file (a namespace's view ends) is skipped.
 */
export async function smallestLimitUpTheTree(
  hierarchy: Hierarchy,
  readLimit: (dir: string) => Promise<number | null>,
): Promise<number | null> {
  let smallest: number | null = null;
  for (const dir of ancestry(hierarchy)) {
    let limit: number | null;
    try {
      limit = await readLimit(dir);
    } catch (error) {
      // The watched cgroup's own file must be readable, but the root of a v2 hierarchy has no memory.max or cpu.max.
      const isRootOrAncestor = dir !== hierarchy.dir || dir === hierarchy.mountPoint;
      if (isRootOrAncestor && (error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    if (limit !== null && (smallest === null || limit < smallest)) smallest = limit;
  }
  return smallest;
}
