// The exposition with the oldest and the newest prom-client that package.json's range allows, each
// installed from the npm registry into a scratch copy of the built exporter: headroom's families render
// through prom-client's public registry alone, so both give the golden families.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CLI_COMMAND, freePort, REPO_ROOT, run, start, waitFor } from '../scripts/processes.js';
import { familyLines, GOLDEN_DIR } from './helpers/golden.js';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'headroom-prom-client-'));
const range = (JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['prom-client']!;

async function npm(args: string[]): Promise<string> {
  const result = await run('npm', args, { cwd: scratch });
  if (result.code !== 0) throw new Error(`npm ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** The built exporter in a directory of its own, with this prom-client version and the checkout's other packages. */
async function exporterWith(version: string): Promise<string> {
  const installed = path.join(scratch, `prom-client-${version}`);
  await npm(['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', installed, `prom-client@${version}`]);
  const app = path.join(scratch, `app-${version}`);
  mkdirSync(path.join(app, 'node_modules'), { recursive: true });
  cpSync(path.join(REPO_ROOT, 'package.json'), path.join(app, 'package.json'));
  cpSync(path.join(REPO_ROOT, 'dist', 'exporter'), path.join(app, 'dist', 'exporter'), { recursive: true });
  for (const entry of readdirSync(path.join(REPO_ROOT, 'node_modules'))) {
    if (entry === 'prom-client' || entry.startsWith('.')) continue;
    symlinkSync(path.join(REPO_ROOT, 'node_modules', entry), path.join(app, 'node_modules', entry));
  }
  symlinkSync(path.join(installed, 'node_modules', 'prom-client'), path.join(app, 'node_modules', 'prom-client'));
  return path.join(app, 'dist', 'exporter', 'src', 'cli.js');
}

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test(`the oldest and the newest prom-client of ${range} render the golden families`, async () => {
  const versions = JSON.parse(await npm(['view', `prom-client@${range}`, 'version', '--json'])) as string | string[];
  const list = Array.isArray(versions) ? versions : [versions];
  const chosen = [...new Set([list[0]!, list[list.length - 1]!])];
  process.stdout.write(`prom-client versions in ${range}: ${list.join(', ')}; testing ${chosen.join(' and ')}\n`);
  for (const version of chosen) {
    const cli = await exporterWith(version);
    const loaded = (JSON.parse(readFileSync(createRequire(cli).resolve('prom-client/package.json'), 'utf8')) as { version: string }).version;
    assert.is(loaded, version, 'the copy loads the prom-client installed for it');
    const port = await freePort();
    const dataDir = path.join(scratch, `data-${version}`);
    const exporter = start(CLI_COMMAND[0], [...CLI_COMMAND.slice(1, -1), cli, `--web.listen-address=127.0.0.1:${port}`, `--data.dir=${dataDir}`, '--log.level=warn']);
    try {
      const text = await waitFor(`headroom with prom-client ${version}`, async () => {
        if (exporter.child.exitCode !== null) throw new Error(exporter.output());
        const response = await fetch(`http://127.0.0.1:${port}/metrics`);
        return response.status === 200 ? response.text() : undefined;
      });
      assert.fixture(familyLines(text), readFileSync(path.join(GOLDEN_DIR, 'sidecar.txt'), 'utf8'), `prom-client ${version}`);
      assert.match(text, /^headroom_memory_working_set_bytes \d+$/m, `prom-client ${version} renders the samples`);
      assert.match(text, /^headroom_scrape_collector_success\{collector="memory"\} 1$/m);
      assert.ok(existsSync(dataDir));
    } finally {
      await exporter.stop();
    }
  }
});

test.run();
