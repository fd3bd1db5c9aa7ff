// headroom resize's plan (pure): the update body for a container's limits as docker inspect shows them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cpuLimitCores, describePlan, planResize, requestForTier, ResizeError, type Resources } from '../../exporter/src/resize/plan.js';
import { sizeRequest } from '../../exporter/src/resize/command.js';
import { tierByName } from '../../exporter/src/thresholds.js';

const MiB = 1024 ** 2;
/** The stack's demo at small: compose's deploy.resources and memswap_limit. */
const SMALL: Resources = { Memory: 1024 * MiB, MemorySwap: 1024 * MiB, MemoryReservation: 256 * MiB, NanoCpus: 1e9, CpuQuota: 0, CpuPeriod: 0 };

test('to a tier: limit, swap (none beyond the limit stays none), reservation and NanoCpus, only what changes', () => {
  const plan = planResize(SMALL, requestForTier(tierByName('medium')!));
  assert.equal(plan.update, { Memory: 2048 * MiB, MemorySwap: 2048 * MiB, MemoryReservation: 512 * MiB, NanoCpus: 2e9 });
  assert.equal(plan.after, { ...SMALL, ...plan.update });
  assert.equal(planResize(SMALL, requestForTier(tierByName('small')!)).update, {}, 'already there: nothing to send');
  assert.equal(planResize(SMALL, { cpuCores: 1.5 }).update, { NanoCpus: 1.5e9 }, 'only the CPUs');
});

test('swap keeps its allowance beyond the limit; unlimited stays unlimited; no previous limit gets no swap', () => {
  assert.equal(planResize({ ...SMALL, MemorySwap: 2048 * MiB }, { memoryBytes: 1536 * MiB }).update, { Memory: 1536 * MiB, MemorySwap: 2560 * MiB });
  assert.equal(planResize({ ...SMALL, MemorySwap: -1 }, { memoryBytes: 1536 * MiB }).update, { Memory: 1536 * MiB, MemorySwap: -1 });
  assert.equal(planResize({ ...SMALL, Memory: 0, MemorySwap: 0, MemoryReservation: 0 }, { memoryBytes: 512 * MiB }).update, { Memory: 512 * MiB, MemorySwap: 512 * MiB });
});

test('a CPU limit set as a quota is changed as a quota, in its own period', () => {
  const quota = { ...SMALL, NanoCpus: 0, CpuQuota: 50_000, CpuPeriod: 100_000 };
  assert.equal(planResize(quota, { cpuCores: 2 }).update, { CpuQuota: 200_000 });
  assert.equal(planResize({ ...quota, CpuPeriod: 0 }, { cpuCores: 0.25 }).update, { CpuQuota: 25_000 }, 'period 0 is the kernel default of 100 ms');
  assert.is(cpuLimitCores(quota), 0.5);
  assert.is(cpuLimitCores({ ...SMALL, NanoCpus: 0 }), null);
});

test('refused: a reservation at or over the new limit, a limit under 6 MiB, a CPU limit under 0.01', () => {
  assert.throws(() => planResize(SMALL, { memoryBytes: 256 * MiB }), (error: Error) => error instanceof ResizeError && /reservation \(256M\) must stay under the limit \(256M\)/.test(error.message));
  assert.throws(() => planResize(SMALL, { memoryBytes: 5 * MiB }), /under Docker's minimum of 6 MiB/);
  assert.throws(() => planResize(SMALL, { cpuCores: 0.001 }), /under 0.01/);
  assert.equal(planResize(SMALL, { memoryBytes: 512 * MiB, memoryReservationBytes: 128 * MiB }).update, { Memory: 512 * MiB, MemorySwap: 512 * MiB, MemoryReservation: 128 * MiB });
});

test('the flags: a tier, overridden figure by figure', () => {
  const large = tierByName('large')!;
  assert.equal(sizeRequest({ to: large }), { memoryBytes: large.memoryLimitBytes, cpuCores: large.cpuLimitCores, memoryReservationBytes: large.memoryReservationBytes });
  assert.equal(sizeRequest({ to: large, cpus: 3 }).cpuCores, 3);
  assert.equal(sizeRequest({ memory: 512 * MiB }), { memoryBytes: 512 * MiB });
  assert.equal(sizeRequest({}), {});
});

test('the description marks what changes', () => {
  const text = describePlan(planResize(SMALL, { memoryBytes: 2048 * MiB }));
  assert.match(text, /memory limit\s+1024M\s+2048M\s+\(changes\)/);
  assert.match(text, /cpus\s+1\.0\s+1\.0\n?/);
  assert.not.match(text.split('\n').find((line) => line.startsWith('cpus'))!, 'changes');
});

test.run();
