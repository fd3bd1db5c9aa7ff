#!/usr/bin/env node
// Runs every compiled uvu suite (dist/test/**/*.test.js) in its own process, one after another,
// and ends with one line: `N passed, N failed`. A suite that crashes, times out or skips a test counts as failed.
// With HEADROOM_NEIGHBOUR_ENGINE=1 (.ci/run), a neighbour engine runs beside the suites (scripts/neighbour-engine.ts):
// started first, checked after the last suite (one more test, passed or failed), then stopped.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const testDir = path.join(root, 'dist', 'test');
/** `node scripts/run-tests.mjs [NAME...]`: the suites whose path contains any NAME (all without one). */
const filters = process.argv.slice(2);
const SUITE_TIMEOUT_MS = Number(process.env.SUITE_TIMEOUT_MS ?? 15 * 60 * 1000);

function findSuites(dir) {
  const suites = [];
  for (const entry of readdirSync(dir).sort()) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) suites.push(...findSuites(full));
    else if (entry.endsWith('.test.js')) suites.push(full);
  }
  return suites;
}

function runSuite(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--enable-source-maps', file], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let output = '';
    const onData = (stream) => (chunk) => { output += chunk; stream.write(chunk); };
    child.stdout.on('data', onData(process.stdout));
    child.stderr.on('data', onData(process.stderr));
    const timer = setTimeout(() => { output += '\nsuite timed out\n'; child.kill('SIGKILL'); }, SUITE_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      const number = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? NaN);
      const total = number('Total');
      const passed = number('Passed');
      const skipped = number('Skipped') || 0;
      if (!Number.isFinite(total) || !Number.isFinite(passed)) resolve({ passed: 0, failed: 1, code });
      else resolve({ passed, failed: total - passed + (code === 0 ? 0 : total === passed ? 1 : 0) + skipped, code });
    });
  });
}

const suites = findSuites(testDir).filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)));
let passed = 0;
let failed = 0;
const failedSuites = [];
let neighbour;
if (process.env.HEADROOM_NEIGHBOUR_ENGINE === '1') {
  const { startNeighbour } = await import('../dist/scripts/neighbour-engine.js');
  try {
    neighbour = await startNeighbour();
    process.stdout.write(`=== ${neighbour.summary}\n`);
    for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]]) {
      process.once(signal, async () => { await neighbour.stop(); process.exit(128 + number); });
    }
  } catch (error) {
    process.stdout.write(`=== the neighbour engine could not be started: ${error.message}\n`);
    failed += 1;
    failedSuites.push('the neighbour engine');
  }
}
for (const suite of suites) {
  const name = path.relative(testDir, suite);
  process.stdout.write(`\n=== ${name}\n`);
  const started = Date.now();
  const result = await runSuite(suite);
  process.stdout.write(`=== ${name}: ${result.passed} passed, ${result.failed} failed (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  passed += result.passed;
  failed += result.failed;
  if (result.failed > 0) failedSuites.push(name);
}
if (neighbour) {
  const problems = [...await neighbour.check(), ...await neighbour.stop()];
  process.stdout.write(`\n=== the neighbour engine after the suites: ${problems.length === 0 ? 'intact, and the host restored' : `\n${problems.join('\n')}`}\n`);
  if (problems.length === 0) passed += 1;
  else { failed += 1; failedSuites.push('the neighbour engine'); }
}
if (suites.length === 0) failed += 1;
if (failedSuites.length > 0) process.stdout.write(`\nfailed suites: ${failedSuites.join(', ')}\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);
