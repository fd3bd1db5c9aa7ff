// Sleeping child processes that stand in for a container's workers: spawned, moved into the watched cgroup,
// and killed and reaped after each step.
import { spawn, type ChildProcess } from 'node:child_process';

export interface Sleepers { pids: number[]; reap: () => Promise<void> }

const alive = new Set<ChildProcess>();
process.once('exit', () => { for (const child of alive) child.kill('SIGKILL'); });

export async function spawnSleepers(count: number): Promise<Sleepers> {
  const children: ChildProcess[] = [];
  const exits: Promise<void>[] = [];
  for (let index = 0; index < count; index += 1) {
    const child = spawn('sleep', ['3600'], { stdio: 'ignore' });
    if (child.pid === undefined) {
      for (const started of children) started.kill('SIGKILL');
      throw new Error(`could not spawn sleeping child ${index + 1} of ${count}`);
    }
    alive.add(child);
    children.push(child);
    exits.push(new Promise((resolve) => child.once('exit', () => { alive.delete(child); resolve(); })));
  }
  return {
    pids: children.map((child) => child.pid!),
    reap: async () => {
      for (const child of children) child.kill('SIGKILL');
      await Promise.all(exits);
    },
  };
}
