// The golden expositions (test/golden/): every headroom_ family's HELP and TYPE lines, as node_exporter
// keeps its end-to-end output. HEADROOM_UPDATE_GOLDEN=1 writes the file instead of comparing.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../../scripts/processes.js';

export const GOLDEN_DIR = path.join(REPO_ROOT, 'test', 'golden');

/** The HELP and TYPE lines of the headroom_ families, in the order the exposition has them. */
export function familyLines(exposition: string): string {
  return `${exposition.split('\n').filter((line) => /^# (HELP|TYPE) headroom_/.test(line)).join('\n')}\n`;
}

export function assertGolden(name: string, exposition: string): void {
  const file = path.join(GOLDEN_DIR, name);
  const actual = familyLines(exposition);
  if (process.env.HEADROOM_UPDATE_GOLDEN === '1') {
    writeFileSync(file, actual);
    return;
  }
  assert.fixture(actual, readFileSync(file, 'utf8'), `${name}: the exposition's families changed (HEADROOM_UPDATE_GOLDEN=1 rewrites it; then update docs/metrics.md)`);
}

/** Every family of the golden files: name and type. */
export function goldenFamilies(): Map<string, string> {
  const families = new Map<string, string>();
  for (const name of ['sidecar.txt', 'host-mode.txt']) {
    for (const [, family, type] of readFileSync(path.join(GOLDEN_DIR, name), 'utf8').matchAll(/^# TYPE (\S+) (\S+)$/gm)) families.set(family!, type!);
  }
  return families;
}
