// A private image registry for the tests: Debian's docker-registry (distribution 2.8), plain HTTP on an
// address and port the test chose, with its configuration and its storage in a temporary directory of its
// own, removed at stop(). The engines that pull from it are started with --insecure-registry=ADDRESS:PORT
// (docs/swarm-and-remote-write.md says why).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { fetchWithin } from './docker-engine.js';
import { start, waitFor } from './processes.js';

export const DOCKER_REGISTRY = process.env.DOCKER_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export interface Registry {
  /** ADDRESS:PORT, the prefix of the images' names. */
  host: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startRegistry(address: string, port: number): Promise<Registry> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'headroom-registry-'));
  const config = path.join(dir, 'config.yml');
  writeFileSync(config, stringify({
    version: 0.1,
    log: { level: 'warn' },
    storage: { filesystem: { rootdirectory: path.join(dir, 'storage') }, delete: { enabled: true } },
    http: { addr: `${address}:${port}` },
  }));
  const registry = start(DOCKER_REGISTRY, ['serve', config]);
  const stop = async () => {
    await registry.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(`the registry on ${address}:${port}`, async () => {
      if (registry.child.exitCode !== null) throw new Error(`docker-registry exited ${registry.child.exitCode}: ${registry.output()}`);
      return (await fetchWithin(`http://${address}:${port}/v2/`, 2000)).status === 200;
    }, 20_000, 200);
  } catch (error) {
    await stop();
    throw error;
  }
  return { host: `${address}:${port}`, output: registry.output, stop };
}
