// One container's limits as the engine and its cgroup hold them, and a resize applied and read back: what
// `headroom resize` and automatic sizing share.
import { z } from 'zod';
import { containerCgroupPath, infoSchema } from '../docker/containers.js';
import type { DockerHost } from '../docker-host.js';
import { engineClient, engineUpdater } from '../docker/engine.js';
import { readHostLayout } from '../kernel/cgroup.js';
import { readCpu } from '../kernel/cpu.js';
import { readMemory } from '../kernel/memory.js';
import { cpuLimitCores, planResize, resourcesSchema, type ResizePlan, type Resources, type SizeRequest } from './plan.js';

export const containerSchema = z.object({
  Id: z.string().regex(/^[0-9a-f]{64}$/),
  Name: z.string(),
  State: z.object({ Running: z.boolean(), StartedAt: z.string() }),
  HostConfig: resourcesSchema.extend({ CgroupParent: z.string().nullish() }),
});
export type ContainerAnswer = z.infer<typeof containerSchema>;

/** The limits (in HostConfig's terms) and the working set of a container's cgroup. */
export interface CgroupFigures { memoryBytes: number | null; memoryReservationBytes: number | null; cpuCores: number | null; workingSetBytes: number }

export async function inspectContainer(host: DockerHost, container: string): Promise<ContainerAnswer> {
  const answer = await engineClient(host).get<unknown>(`/containers/${encodeURIComponent(container)}/json`);
  return containerSchema.parse(answer);
}

/** The limits the container's cgroup holds, in HostConfig's terms (for comparison with what was sent), and its working set. */
export async function readCgroupFigures(host: DockerHost, container: ContainerAnswer): Promise<CgroupFigures> {
  const info = infoSchema.parse(await engineClient(host).get<unknown>('/info'));
  const location = readHostLayout(host.procfs, host.sysfs)(containerCgroupPath(container.Id, info.CgroupDriver, container.HostConfig.CgroupParent));
  const memory = readMemory(location, host.procfs);
  const cpu = readCpu(location, host.procfs);
  return { memoryBytes: memory.limitEnforced ? memory.limitBytes : null, memoryReservationBytes: memory.reservationBytes, cpuCores: cpu.limitEnforced ? cpu.effectiveLimitCores : null, workingSetBytes: memory.workingSetBytes };
}

/** Where the engine's and the cgroup's limits differ from those planned; empty when they agree. */
export function differences(planned: Resources, inspected: Resources, cgroup: CgroupFigures): string[] {
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


export interface AppliedResize { plan: ResizePlan; warnings: string[]; after: ContainerAnswer; problems: string[] }

/** Plans, sends the update, and reads the limits back; problems lists where they differ (empty: applied as planned). */
export async function applyResize(host: DockerHost, container: ContainerAnswer, request: SizeRequest): Promise<AppliedResize> {
  const plan = planResize(container.HostConfig, request);
  const warnings = Object.keys(plan.update).length === 0 ? [] : await engineUpdater(host).updateResources(container.Id, plan.update);
  const after = await inspectContainer(host, container.Id);
  const problems = differences(plan.after, after.HostConfig, await readCgroupFigures(host, after));
  if (after.Id !== container.Id || after.State.StartedAt !== container.State.StartedAt) problems.push('the container was restarted');
  return { plan, warnings, after, problems };
}
