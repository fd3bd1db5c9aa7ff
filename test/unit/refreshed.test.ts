// Refreshed: the last result of a slow read, one read at a time, never waited for beyond a budget.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Refreshed } from '../../exporter/src/refreshed.js';

/** A read the test settles by hand. */
function manualRead() {
  const pending: Array<(value: number) => void> = [];
  let started = 0;
  return {
    read: () => new Promise<number>((resolve) => { started += 1; pending.push(resolve); }),
    settle: (value: number) => pending.shift()!(value),
    started: () => started,
  };
}

test('a read that hangs: callers get the last value at once, and no second read piles up', async () => {
  let clock = 0;
  const source = manualRead();
  const refreshed = new Refreshed(source.read, () => -1, 0, () => clock);
  const first = refreshed.refresh();
  source.settle(7);
  assert.is((await first).value, 7);
  clock = 100;
  const waited = refreshed.current(10); // starts a read that will hang
  assert.is(source.started(), 2);
  const answer = await waited;
  assert.is(answer?.value, 7, 'after the budget, the last value');
  clock = 200;
  const started = performance.now();
  assert.is((await refreshed.current(10))?.value, 7);
  assert.ok(performance.now() - started < 5, 'a read under way for longer than the budget is not waited for');
  assert.is(source.started(), 2, 'one read at a time');
  source.settle(9);
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(refreshed.latest()?.value, 9);
});

test('two callers within the budget share one read and one answer', async () => {
  let clock = 0;
  const source = manualRead();
  const refreshed = new Refreshed(source.read, () => -1, 0, () => clock);
  const a = refreshed.current(50);
  const b = refreshed.current(50);
  assert.is(source.started(), 1);
  source.settle(3);
  assert.equal([(await a)?.value, (await b)?.value], [3, 3]);
});

test('a failed read becomes the error value; a fresh value is not read again before maxAge', async () => {
  let clock = 0;
  let reads = 0;
  const refreshed = new Refreshed(async () => { reads += 1; if (reads === 1) throw new Error('gone'); return reads; }, () => Number.NaN, 1000, () => clock);
  assert.ok(Number.isNaN((await refreshed.refresh()).value));
  clock = 500;
  assert.ok(Number.isNaN((await refreshed.current(10))?.value ?? 0), 'younger than maxAge: not read again');
  clock = 1600;
  assert.is((await refreshed.current(10))?.value, 2);
});

test.run();
