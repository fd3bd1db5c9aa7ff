// `headroom resize CONTAINER`: changes a running container's limits in place (POST /containers/{id}/update:
// the same container, not restarted). A dry run unless --apply; after applying, the limits are read back from
// the engine and from the container's cgroup, and the command fails when either differs from what was sent.
import { z } from 'zod';
import { serveFlags } from '../config.js';
import { EngineError } from '../docker/engine.js';
import { booleanValue, commandFailure, parseSubcommandLine, type FlagSpec } from '../flags.js';
import { parseCpus, parseMemorySize } from '../sizes.js';
import { TIERS, tierByName, type Tier } from '../thresholds.js';
import { dockerHost } from '../docker-host.js';
import { applyResize, inspectContainer } from './container.js';
import { describePlan, planResize, requestForTier, ResizeError, type SizeRequest } from './plan.js';

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

/** The size request the flags make: a tier, or single figures (which override the tier's). */
export function sizeRequest(values: { to?: Tier; memory?: number; cpus?: number; memoryReservation?: number }): SizeRequest {
  const request: SizeRequest = values.to ? requestForTier(values.to) : {};
  if (values.memory !== undefined) request.memoryBytes = values.memory;
  if (values.cpus !== undefined) request.cpuCores = values.cpus;
  if (values.memoryReservation !== undefined) request.memoryReservationBytes = values.memoryReservation;
  return request;
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
  const host = dockerHost({ ...options, targetDocker: options.targetDocker! });
  try {
    const container = await inspectContainer(host, parsed.positionals[0]!);
    if (!container.State.Running) fail(`${container.Name.replace(/^\//, '')} is not running`, 1);
    const plan = planResize(container.HostConfig, request);
    process.stdout.write(`container ${container.Name.replace(/^\//, '')} (${container.Id.slice(0, 12)})\n${describePlan(plan)}\n`);
    if (Object.keys(plan.update).length === 0) { process.stdout.write('nothing to change\n'); return; }
    process.stdout.write(`update: POST /containers/${container.Id.slice(0, 12)}/update ${JSON.stringify(plan.update)}\n`);
    if (!options.apply) { process.stdout.write('dry run: nothing sent (--apply sends it)\n'); return; }
    const { warnings, problems: found } = await applyResize(host, container, request);
    for (const warning of warnings) process.stderr.write(`engine warning: ${warning}\n`);
    if (found.length > 0) fail(`applied, but the limits read back differ:\n  ${found.join('\n  ')}`, 1);
    process.stdout.write('applied: docker inspect and the cgroup show the new limits; the container kept running\n');
  } catch (error) {
    if (error instanceof ResizeError || error instanceof EngineError || error instanceof z.ZodError) fail(error instanceof z.ZodError ? `unexpected answer from the engine: ${error.message}` : error.message, 1);
    throw error;
  }
}
