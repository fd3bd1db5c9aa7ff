// README.md for a newcomer: at most 250 lines, the two set-up commands first, and the runnable blocks the
// adopt suite runs (test/adopt.test.ts) found as written.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../../scripts/processes.js';
import { runnableBlocks } from '../helpers/readme-blocks.js';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

test('runnableBlocks takes the ```sh runnable blocks only, in order, as written', () => {
  const markdown = ['```sh', 'make run', '```', '```sh runnable', 'make up', 'make ps', '```', 'text', '```sh runnable', 'make down', '```', ''].join('\n');
  assert.equal(runnableBlocks(markdown), ['make up\nmake ps', 'make down']);
  assert.equal(runnableBlocks('```sh\nmake test\n```\n'), []);
});

test('README.md: at most 250 lines, `make run` and `make test` its first commands, a screenshot, runnable blocks', () => {
  const lines = README.split('\n');
  assert.ok(lines.length <= 250, `${lines.length} lines`);
  const firstBlock = /```sh\n([\s\S]*?)```/.exec(README)![1]!.trim().split('\n').map((line) => line.replace(/\s+#.*$/, ''));
  assert.equal(firstBlock, ['make run', 'make test']);
  assert.match(README, '](docs/images/page-overview.png)');
  const runnable = runnableBlocks(README).join('\n');
  for (const command of ['make up', 'make tune SERVICE=', 'make test-alert', 'make down']) assert.match(runnable, command);
});

test.run();
