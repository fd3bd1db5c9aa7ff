// `headroom resize CONTAINER`: changes a running container's limits in place (POST /containers/{id}/update:
// the same container, not restarted). A dry run unless --apply; after applying, the limits are read back from
// the engine and from the container's cgroup, and the command fails when either differs from what was sent.
import { z } from 'zod';
import { serveFlags } from '../config.js';
import { containerCgroupPath, infoSchema } from '../docker/containers.js';
import { EngineError, engineClient, engineUpdater, type EngineAddress, type EngineTls } from '../docker/engine.js';
import { booleanValue, commandFailure, parseSubcommandLine, type FlagSpec } from '../flags.js';
import { readHostLayout } from '../kernel/cgroup.js';
import { readCpu } from '../kernel/cpu.js';
import { readMemory } from '../kernel/memory.js';
import { parseCpus, parseMemorySize } from '../sizes.js';
import { TIERS, tierByName, type Tier } from '../thresholds.js';
import { cpuLimitCores, describePlan, planResize, requestForTier, ResizeError, resourcesSchema, type Resources, type SizeRequest } from './plan.js';

const USAGE = `usage: headroom resize CONTAINER (--to=small|medium|large | --memory=SIZE and/or --cpus=N) [--apply]

Changes a running container's memory and CPU limits in place, without restarting it. Without --apply it
prints the limits now and after, and the update it would send; with --apply it sends it, then reads the
limits back from the engine and from the container's cgroup and exits 1 when they differ.`;

export const resizeFlags = {
  to: { name: 'to', default: '', form: TIERS.map((tier) => tier.name).join('|'), help: 'A deployment tier: its memory and CPU limits and its memory reservation.', parse: (raw: string): Tier | undefined | null => (raw === '' ? undefined : tierByName(raw) ?? null) },
  memory: { name: 'memory', default: '', form: 'SIZE (e.g. 2048M)', help: 'The memory limit.', parse: (raw: string) => (raw === '' ? undefined : parseMemorySize(raw)) },
  cpus: { name: 'cpus', default: '', form: 'CPUS (e.g. 2.0)', help: 'The CPU limit.', parse: (raw: string) => (raw === '' ? undefined : parseCpus(raw)) },
  memoryReservation: { name: 'memory-reservation', default: '', form: 'SIZE (e.g. 512M)', help: 'The memory reservation (soft limit).', parse: (raw: string) => (raw === '' ? undefined : parseMemorySize(raw)) },
  apply: { name: 'apply', boolean: true, default: 'false', form: 'true|false', help: 'Send the update (without it: a dry run).', parse: booleanValue },
  targetDocker: { ...serveFlags.targetDocker, default: 'unix:///var/run/docker.sock', help: 'The Docker engine the container runs on.' },
  targetDockerTlsCa: serveFlags.targetDockerTlsCa,
  targetDockerTlsCert: serveFlags.targetDockerTlsCert,
  targetDockerTlsKey: serveFlags.targetDockerTlsKey,
  procfs: serveFlags.procfs,
  sysfs: serveFlags.sysfs,
} satisfies Record<string, FlagSpec<unknown>>;

const containerSchema = z.object({
  Id: z.string().regex(/^[0-9a-f]{64}$/),
  Name: z.string(),
  State: z.object({ Running: z.boolean(), StartedAt: z.string() }),
  HostConfig: resourcesSchema.extend({ CgroupParent: z.string().nullish() }),
});
type ContainerAnswer = z.infer<typeof containerSchema>;

export interface ResizeTarget { address: EngineAddress; tls: EngineTls; procfs: string; sysfs: string }

/** The size request the flags make: a tier, or single figures (which override the tier's). */
export function sizeRequest(values: { to?: Tier; memory?: number; cpus?: number; memoryReservation?: number }): SizeRequest {
  const request: SizeRequest = values.to ? requestForTier(values.to) : {};
  if (values.memory !== undefined) request.memoryBytes = values.memory;
  if (values.cpus !== undefined) request.cpuCores = values.cpus;
  if (values.memoryReservation !== undefined) request.memoryReservationBytes = values.memoryReservation;
  return request;
}

export async function inspectContainer(target: ResizeTarget, container: string): Promise<ContainerAnswer> {
  const answer = await engineClient(target.address, target.tls).get<unknown>(`/containers/${encodeURIComponent(container)}/json`);
  return containerSchema.parse(answer);
}

/** The limits the container's cgroup holds, in HostConfig's terms (for comparison with what was sent). */
export async function cgroupLimits(target: ResizeTarget, container: ContainerAnswer): Promise<{ memoryBytes: number | null; memoryReservationBytes: number | null; cpuCores: number | null }> {
  const info = infoSchema.parse(await engineClient(target.address, target.tls).get<unknown>('/info'));
  const location = readHostLayout(target.procfs, target.sysfs)(containerCgroupPath(container.Id, info.CgroupDriver, container.HostConfig.CgroupParent));
  const memory = readMemory(location, target.procfs);
  const cpu = readCpu(location, target.procfs);
  return { memoryBytes: memory.limitEnforced ? memory.limitBytes : null, memoryReservationBytes: memory.reservationBytes, cpuCores: cpu.limitEnforced ? cpu.effectiveLimitCores : null };
}

/** Where the engine's and the cgroup's limits differ from those planned; empty when they agree. */
export function differences(planned: Resources, inspected: Resources, cgroup: Awaited<ReturnType<typeof cgroupLimits>>): string[] {
  const found: string[] = [];
  for (const key of Object.keys(planned) as Array<keyof Resources>) {
    if (planned[key] !== inspected[key]) found.push(`docker inspect ${key} is ${inspected[key]}, not ${planned[key]}`);
  }
  if (planned.Memory > 0 && cgroup.memoryBytes !== planned.Memory) found.push(`the cgroup's memory limit is ${cgroup.memoryBytes}, not ${planned.Memory}`);
  if (planned.MemoryReservation > 0 && cgroup.memoryReservationBytes !== planned.MemoryReservation) found.push(`the cgroup's memory reservation is ${cgroup.memoryReservationBytes}, not ${planned.MemoryReservation}`);
  const plannedCores = cpuLimitCores(planned);
  if (plannedCores !== null && (cgroup.cpuCores === null || Math.abs(cgroup.cpuCores - plannedCores) > 1e-6)) found.push(`the cgroup's CPU limit is ${cgroup.cpuCores}, not ${plannedCores}`);
  return found;
}

export async function resizeCommand(argv: string[]): Promise<void> {
  const fail = commandFailure('resize');
  const parsed = parseSubcommandLine('resize', USAGE, resizeFlags, argv);
  if (!parsed) return;
  const options = parsed.values;
  if (parsed.positionals.length !== 1) fail(parsed.positionals.length === 0 ? 'name the container to resize' : `one container at a time, not ${parsed.positionals.length}`, 2);
  if (options.targetDocker === undefined) fail('--target.docker names the engine', 2);
  const request = sizeRequest(options);
  if (Object.keys(request).length === 0) fail('nothing to change: give --to, or --memory and/or --cpus', 2);
  const target: ResizeTarget = {
    address: options.targetDocker!,
    tls: { caFile: options.targetDockerTlsCa, certFile: options.targetDockerTlsCert, keyFile: options.targetDockerTlsKey },
    procfs: options.procfs,
    sysfs: options.sysfs,
  };
  try {
    const container = await inspectContainer(target, parsed.positionals[0]!);
    if (!container.State.Running) fail(`${container.Name.replace(/^\//, '')} is not running`, 1);
    const plan = planResize(container.HostConfig, request);
    process.stdout.write(`container ${container.Name.replace(/^\//, '')} (${container.Id.slice(0, 12)})\n${describePlan(plan)}\n`);
    if (Object.keys(plan.update).length === 0) { process.stdout.write('nothing to change\n'); return; }
    process.stdout.write(`update: POST /containers/${container.Id.slice(0, 12)}/update ${JSON.stringify(plan.update)}\n`);
    if (!options.apply) { process.stdout.write('dry run: nothing sent (--apply sends it)\n'); return; }
    const warnings = await engineUpdater(target.address, target.tls).updateResources(container.Id, plan.update);
    for (const warning of warnings) process.stderr.write(`engine warning: ${warning}\n`);
    const after = await inspectContainer(target, container.Id);
    const found = differences(plan.after, after.HostConfig, await cgroupLimits(target, after));
    if (after.Id !== container.Id || after.State.StartedAt !== container.State.StartedAt) found.push('the container was restarted');
    if (found.length > 0) fail(`applied, but the limits read back differ:\n  ${found.join('\n  ')}`, 1);
    process.stdout.write('applied: docker inspect and the cgroup show the new limits; the container kept running\n');
  } catch (error) {
    if (error instanceof ResizeError || error instanceof EngineError || error instanceof z.ZodError) fail(error instanceof z.ZodError ? `unexpected answer from the engine: ${error.message}` : error.message, 1);
    throw error;
  }
}
