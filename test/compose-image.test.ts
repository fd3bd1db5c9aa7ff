// The exporter image's final stage, laid out natively from the Dockerfile (no engine here): the files
// its COPY --from=build lines take from dist/, package.json, and node_modules holding only the
// production dependencies. Its ENTRYPOINT must start from there, and its HEALTHCHECK command must pass.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT, freePort, run, start, waitFor } from '../scripts/processes.js';

const dockerfile = DockerfileParser.parse(readFileSync(path.join(REPO_ROOT, 'Dockerfile'), 'utf8'));
const instructions = dockerfile.getInstructions();
const froms = dockerfile.getFROMs();
const finalStage = instructions.slice(instructions.indexOf(froms[froms.length - 1]!));

function jsonWords(text: string): string[] {
  return JSON.parse(text) as string[];
}

test('the final stage runs with production dependencies only, and its HEALTHCHECK passes', async () => {
  const app = mkdtempSync(path.join(os.tmpdir(), 'headroom-image-'));
  let exporter: ReturnType<typeof start> | undefined;
  try {
    // COPY --from=build /app/dist/X ./dist/X: the build stage's dist is this checkout's dist (make build).
    const copies = dockerfile.getCOPYs().filter((copy) => finalStage.includes(copy));
    let distCopies = 0;
    for (const copy of copies) {
      const from = copy.getFlags().find((flag) => flag.getName() === 'from')?.getValue();
      const [source, target] = (copy.getArgumentsContent() ?? '').split(/\s+/) as [string, string];
      if (from === undefined) cpSync(path.join(REPO_ROOT, source), path.join(app, target, path.basename(source)));
      else if (source.startsWith('/app/dist/')) {
        cpSync(path.join(REPO_ROOT, source.slice('/app/'.length)), path.join(app, target), { recursive: true });
        distCopies += 1;
      } else assert.is(source, '/app/node_modules', `unexpected COPY --from=${from} ${source}`);
    }
    assert.ok(distCopies >= 1, 'the final stage takes the compiled exporter from the build stage');
    // `npm ci --omit=dev`: the package.json dependencies (their own dependencies resolve where they live).
    const manifest = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
    for (const name of Object.keys(manifest.dependencies)) {
      const link = path.join(app, 'node_modules', name);
      mkdirSync(path.dirname(link), { recursive: true });
      symlinkSync(path.join(REPO_ROOT, 'node_modules', name), link);
    }
    for (const name of Object.keys(manifest.devDependencies)) {
      const missing = await run(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(name)})`], { cwd: app });
      assert.is.not(missing.code, 0, `${name} (a dev dependency) must not resolve in the image layout`);
    }

    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const instruction of finalStage.filter((candidate) => candidate.getKeyword() === 'ENV')) {
      const [name, value] = instruction.getArgumentsContent()!.split('=') as [string, string];
      env[name] = value;
    }
    env.HEADROOM_DATA_DIR = path.join(app, 'data');
    const entrypoint = jsonWords(dockerfile.getENTRYPOINTs()[0]!.getArgumentsContent()!);
    const cmd = jsonWords(dockerfile.getCMDs().at(-1)!.getArgumentsContent()!);
    const imagePort = /:(\d+)$/.exec(cmd.find((arg) => arg.startsWith('--web.listen-address='))!)![1]!;
    const port = await freePort();
    // `docker run IMAGE ARGS` replaces CMD: the listen address moves to loopback on a free port.
    const binary = entrypoint[0] === 'node' ? process.execPath : entrypoint[0]!;
    exporter = start(binary, [...entrypoint.slice(1), `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { cwd: app, env });
    const url = `http://127.0.0.1:${port}`;
    await waitFor(`the image's entry point\n${exporter.output()}`, async () => {
      if (exporter!.child.exitCode !== null) throw new Error(`exited ${exporter!.child.exitCode}: ${exporter!.output()}`);
      return (await fetch(`${url}/metrics`)).ok;
    }, 20_000);
    assert.match(await (await fetch(`${url}/metrics`)).text(), /^headroom_build_info\{/m);

    // The HEALTHCHECK command itself, pointed at this port.
    const healthcheck = dockerfile.getHEALTHCHECKs()[0]!;
    const probe = jsonWords(healthcheck.getArgumentsContent()!.replace(/^CMD\s+/, '')).map((word) => word.replaceAll(`:${imagePort}/`, `:${port}/`));
    assert.is(probe[0], 'node');
    const healthy = await waitFor('/health to answer 200', async () => {
      const result = await run(process.execPath, probe.slice(1), { cwd: app, env });
      return result.code === 0 ? result : undefined;
    }, 20_000, 500);
    assert.is(healthy.code, 0);
    await exporter.stop();
    const unhealthy = await run(process.execPath, probe.slice(1), { cwd: app, env });
    assert.is(unhealthy.code, 1, 'the healthcheck fails when nothing answers');
  } finally {
    await exporter?.stop();
    rmSync(app, { recursive: true, force: true });
  }
});

test.run();
