// A small image made of this host's node binary and the shared libraries it loads (ldd), imported into an
// engine in a few seconds: for checks that need a process in a container that listens and connects (the
// neighbour engine, the engine clean-up test), without the stand-in images and their build.
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { runCommand, type CommandOptions, type CommandResult } from './docker-engine.js';

export const HOST_NODE_IMAGE = 'headroom-host-node:latest';

/** The files node needs: itself and what `ldd` lists, as paths relative to /. */
export async function hostNodeFiles(): Promise<string[]> {
  const { stdout } = await runCommand('ldd', [process.execPath]);
  const libraries = [...stdout.matchAll(/(\/\S+) \(0x[0-9a-f]+\)/g)].map((match) => match[1]!);
  return [process.execPath, ...libraries].map((file) => file.slice(1));
}

/** Imports HOST_NODE_IMAGE (entry point: node) through a docker client of the engine. */
export async function importHostNodeImage(docker: (args: string[], options?: CommandOptions) => Promise<CommandResult>): Promise<string> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'headroom-host-node-'));
  try {
    const archive = path.join(work, 'node.tar');
    await runCommand('tar', ['-C', '/', '--dereference', '-cf', archive, ...await hostNodeFiles()]);
    await docker(['import', '--change', `ENTRYPOINT ["${process.execPath}"]`, archive, HOST_NODE_IMAGE]);
    return HOST_NODE_IMAGE;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What a TCP server at host:port sends before it closes the connection (the image's checks serve one line). */
export function readFrom(host: string, port: number, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(port, host);
    socket.setTimeout(ms, () => socket.destroy(new Error(`no answer from ${host}:${port} within ${ms} ms`)));
    socket.on('data', (chunk) => { text += chunk; });
    socket.once('end', () => resolve(text));
    socket.once('error', reject);
  });
}
