// Containers with a mix of limits, for the suites that watch many: memory and CPU limits cycling through
// lists ('' for none), and a memory reservation of half the limit on every third.

const CPUS = ['0.25', '0.5', '1', '1.5', ''];

/** The `docker run` flags of the index-th container: its memory limit from `memories`, its CPUs from a fixed cycle. */
export function mixedLimitArgs(index: number, memories: string[]): string[] {
  const args: string[] = [];
  const memory = memories[index % memories.length]!;
  const cpu = CPUS[index % CPUS.length]!;
  if (memory) args.push(`--memory=${memory}`);
  if (cpu) args.push(`--cpus=${cpu}`);
  if (index % 3 === 0 && memory) args.push(`--memory-reservation=${Number.parseInt(memory, 10) / 2}m`);
  return args;
}
