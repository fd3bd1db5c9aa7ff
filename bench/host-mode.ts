// What the host-mode benchmarks share (bench-docker, bench-ui): the exporter watching a private engine, and
// sleeping containers with limits created a few at a time.
import type { DockerEngine } from '../scripts/docker-engine.js';
import { freePort, HOST_MODE_CLI_COMMAND, start, waitFor, type Started } from '../scripts/processes.js';
import { STANDIN_TAGS } from '../scripts/standin-images.js';

export const BENCH_IMAGE = STANDIN_TAGS.nodeAlpine;
export const BENCH_NETWORK = 'bench';

/** Runs `work` over `items`, `limit` at a time. */
export async function pool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** headroom in host mode (its own V8 flags) on a free port, watching `engine`; `args` more flags. */
export async function startHostMode(engine: DockerEngine, args: readonly string[] = []): Promise<Started & { url: string }> {
  const port = await freePort();
  const [node, ...cli] = HOST_MODE_CLI_COMMAND;
  const started = start(node, [...cli, `--web.listen-address=127.0.0.1:${port}`, `--target.docker=unix://${engine.socket}`, '--statistics.enabled=false', '--log.level=warn', ...args]);
  const url = `http://127.0.0.1:${port}`;
  await waitFor('headroom in host mode', async () => {
    if (started.child.exitCode !== null) throw new Error(`exited: ${started.output()}`);
    return (await fetch(`${url}/metrics`)).ok;
  }, 30_000);
  return { ...started, url };
}

/** Containers with a memory limit series in /metrics: those the exporter scrapes. */
export async function containersSeen(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text.split('\n').filter((line) => line.startsWith('headroom_memory_limit_bytes{')).length;
}

export async function createContainers(engine: DockerEngine, names: readonly string[]): Promise<void> {
  await pool(names, 8, async (name) => {
    await engine.docker(['run', '--detach', '--name', name, `--network=${BENCH_NETWORK}`, '--memory=64m', '--cpus=0.5', BENCH_IMAGE, 'sleep', 'infinity']);
  });
}
