// README's Layout section against the tree: every folder listed and every listed folder there, and no
// module importing across the lines the section draws.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../../scripts/processes.js';

/** The folders that hold tracked files (a benchmark's or a run's scratch folders are not part of the layout). */
function folders(): string[] {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
  const found = new Set<string>();
  for (const file of files) {
    for (let dir = path.dirname(file); dir !== '.'; dir = path.dirname(dir)) found.add(`${dir}/`);
  }
  return [...found];
}

function layoutRows(): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = /^## Layout\n([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, 'README has a Layout section');
  return [...section.matchAll(/^\| `([^`]+\/)` \|/gm)].map((match) => match[1]!);
}

test('README\'s Layout lists every folder of the tree, and only those', () => {
  assert.equal(layoutRows().sort(), folders().sort());
});

/** Where a module of a folder may import from (the most specific folder applies); test/ may import anything. */
const MAY_IMPORT: Record<string, string[]> = {
  'exporter/src/': ['exporter/src/'],
  'exporter/src/kernel/': ['exporter/src/kernel/'],
  'exporter/src/collectors/': ['exporter/src/collectors/', 'exporter/src/kernel/', 'exporter/src/metrics.ts'],
  // Served to browsers as they are: nothing of the server's.
  'exporter/src/ui/web/': ['exporter/src/ui/web/'],
  'alerting-rules/': ['alerting-rules/', 'exporter/src/'],
  'dashboards/src/': ['dashboards/src/', 'exporter/src/', 'alerting-rules/'],
  'scripts/': ['scripts/', 'exporter/src/', 'alerting-rules/', 'dashboards/src/'],
  'bench/': ['bench/', 'exporter/src/', 'scripts/'],
  'compose/': ['compose/', 'dist/exporter/src/'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|mjs)$/.test(file) && !file.endsWith('.d.ts'))
    .map((file) => path.join(dir, file));
}

test('no module imports across the lines of the Layout', () => {
  const violations: string[] = [];
  for (const top of ['exporter', 'alerting-rules', 'dashboards', 'scripts', 'bench', 'compose', 'test']) {
    for (const file of sourceFiles(top)) {
      const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = path.normalize(path.join(path.dirname(file), specifier!)).replace(/\.js$/, '.ts');
        const rule = Object.keys(MAY_IMPORT).filter((folder) => file.startsWith(folder)).sort((a, b) => b.length - a.length)[0];
        if (rule && !MAY_IMPORT[rule]!.some((allowed) => target.startsWith(allowed))) violations.push(`${file} imports ${target}`);
      }
    }
  }
  assert.equal(violations, []);
});

test.run();
