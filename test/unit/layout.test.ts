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

/** README's Layout section: from its heading to the next one, or to the end. */
function layoutSection(readme: string): string | undefined {
  return /^## Layout\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1];
}

function layoutRows(): string[] {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = layoutSection(readme);
  assert.ok(section, 'README has a Layout section');
  return [...section.matchAll(/^\| `([^`]+\/)` \|/gm)].map((match) => match[1]!);
}

test('README\'s Layout lists every folder of the tree, and only those', () => {
  assert.equal(layoutRows().sort(), folders().sort());
});

/** Each row's first cell (a folder, or a file) and the paths its last column allows; null: anything. */
function importRules(): Map<string, string[] | null> {
  const readme = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
  const section = layoutSection(readme)!;
  const rules = new Map<string, string[] | null>();
  for (const [, key, rest] of section.matchAll(/^\| `([^`]+)` \|(.*)\|\s*$/gm)) {
    const allowed = rest!.split('|').at(-1)!;
    rules.set(key!, allowed.includes('anything') ? null : [...allowed.matchAll(/`([^`]+)`/g)].map((match) => match[1]!));
  }
  return rules;
}

/** Whether `target` (a path in the tree) is within `allowed`: a folder, a file, or `DIR/*.ts` (its files but those with rows of their own). */
function within(target: string, allowed: string, rules: Map<string, unknown>): boolean {
  if (allowed.endsWith('/*.ts')) {
    const dir = allowed.slice(0, -'/*.ts'.length);
    return path.dirname(target) === dir && target.endsWith('.ts') && !rules.has(target);
  }
  return allowed.endsWith('/') ? target.startsWith(allowed) : target === allowed;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.(ts|mjs)$/.test(file) && !file.endsWith('.d.ts'))
    .map((file) => path.join(dir, file));
}

test('the Layout names the composition files, and the core may not import them', () => {
  const rules = importRules();
  for (const file of ['exporter/src/cli.ts', 'exporter/src/serve.ts']) assert.ok(rules.has(file), file);
  assert.not.ok(within('exporter/src/serve.ts', 'exporter/src/*.ts', rules));
  assert.ok(within('exporter/src/health.ts', 'exporter/src/*.ts', rules));
  assert.not.ok(within('exporter/src/docker/engine.ts', 'exporter/src/*.ts', rules));
});

test('no module imports across the lines of the Layout', () => {
  const rules = importRules();
  const violations: string[] = [];
  for (const top of ['exporter', 'alerting-rules', 'dashboards', 'scripts', 'bench', 'compose', 'test']) {
    for (const file of sourceFiles(top)) {
      const key = [...rules.keys()].filter((candidate) => (candidate.endsWith('/') ? file.startsWith(candidate) : file === candidate)).sort((a, b) => b.length - a.length)[0];
      const allowed = key === undefined ? undefined : rules.get(key);
      if (key === undefined || allowed === null || allowed === undefined) continue;
      const text = readFileSync(path.join(REPO_ROOT, file), 'utf8');
      for (const [, specifier] of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = path.normalize(path.join(path.dirname(file), specifier!)).replace(/\.js$/, '.ts');
        const own = key.endsWith('/') && target.startsWith(key);
        if (!own && !allowed.some((entry) => within(target, entry, rules))) violations.push(`${file} imports ${target} (${key} may import ${allowed.join(', ') || 'nothing of the project'})`);
      }
    }
  }
  assert.equal(violations, []);
});

test.run();
