// The per-process parsing of the kernel layer: /proc/<pid>/stat and the page size from /proc/self/auxv.
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAuxvPageSize, parseProcessStat } from '../../exporter/src/kernel/parse.js';

const STAT = '4242 (my app) S 1 1 1 0 -1 4194560 100 0 0 0 250 75 3 4 20 0 1 0 100 1000000 321 18446744073709551615 0 0 0 0\n';

test('stat: name, utime + stime, cutime + cstime and rss pages', () => {
  assert.equal(parseProcessStat(STAT), { name: 'my app', cpuTicks: 325, childCpuTicks: 7, residentPages: 321 });
});

test('stat: a name holding ") " and parentheses is taken up to the last ")"', () => {
  const stat = STAT.replace('(my app)', '(a) S 9 (b))');
  assert.is(parseProcessStat(stat).name, 'a) S 9 (b)');
  assert.is(parseProcessStat(stat).cpuTicks, 325);
});

test('stat: text that is not a stat line is rejected', () => {
  assert.throws(() => parseProcessStat('no parentheses here'));
  assert.throws(() => parseProcessStat('1 (x) S 1 2'));
  assert.throws(() => parseProcessStat(''));
});

test('stat of this process: it has used CPU and holds memory', () => {
  const own = parseProcessStat(readFileSync('/proc/self/stat', 'utf8'));
  assert.is(own.name, readFileSync('/proc/self/comm', 'utf8').trim());
  assert.ok(own.residentPages > 0);
});

function auxv(pairs: Array<[number, number]>, wordBytes: 4 | 8, littleEndian: boolean): Uint8Array {
  const view = new DataView(new ArrayBuffer(pairs.length * 2 * wordBytes));
  pairs.flat().forEach((value, index) => {
    if (wordBytes === 8) view.setBigUint64(index * 8, BigInt(value), littleEndian);
    else view.setUint32(index * 4, value, littleEndian);
  });
  return new Uint8Array(view.buffer);
}

test('auxv: AT_PAGESZ (6) in 64- and 32-bit words, either byte order; none before AT_NULL is undefined', () => {
  assert.is(parseAuxvPageSize(auxv([[33, 7], [6, 65536], [0, 0]], 8, true), 8, true), 65536);
  assert.is(parseAuxvPageSize(auxv([[16, 1], [6, 4096], [0, 0]], 4, false), 4, false), 4096);
  assert.is(parseAuxvPageSize(auxv([[16, 1], [0, 0], [6, 4096]], 8, true), 8, true), undefined);
  assert.is(parseAuxvPageSize(new Uint8Array(0), 8, true), undefined);
});

test('auxv of this process gives the page size that VmRSS and statm agree on', () => {
  const pageSize = parseAuxvPageSize(readFileSync('/proc/self/auxv'), process.arch === 'ia32' || process.arch === 'arm' ? 4 : 8, os.endianness() === 'LE');
  assert.ok(pageSize !== undefined && pageSize >= 4096 && (pageSize & (pageSize - 1)) === 0, `power of two, got ${pageSize}`);
  const residentPages = Number(readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
  const vmRssBytes = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
  const ratio = (residentPages * pageSize!) / vmRssBytes;
  assert.ok(ratio > 0.9 && ratio < 1.1, `statm pages x page size / VmRSS = ${ratio}`);
});

test.run();
