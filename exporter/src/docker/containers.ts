// What headroom takes from the Engine API's answers (pure): a container's identity and labels, its CPU
// reservation, its state, and where its cgroup is. Container labels and environment never become metric
// labels and are never logged: only the compose project and service, and the CPU reservation, are read.
import { z } from 'zod';
import { AUTOSIZE_LABEL, CPU_RESERVATION_LABEL } from './labels.js';

export const inspectSchema = z.object({
  Id: z.string().regex(/^[0-9a-f]{64}$/),
  Name: z.string(),
  Config: z.object({
    Image: z.string(),
    Env: z.array(z.string()).nullish(),
    Labels: z.record(z.string(), z.string()).nullish(),
  }),
  HostConfig: z.object({
    RestartPolicy: z.object({ Name: z.string() }).nullish(),
    CgroupParent: z.string().nullish(),
    // The container's --ulimit options, with the daemon's default-ulimits merged in when it was created.
    Ulimits: z.array(z.object({ Name: z.string(), Soft: z.number(), Hard: z.number() })).nullish(),
  }),
  State: z.object({
    Status: z.string(),
    Running: z.boolean(),
    Pid: z.number().int(),
    OOMKilled: z.boolean(),
    ExitCode: z.number().int(),
    StartedAt: z.string(),
    FinishedAt: z.string(),
  }),
  RestartCount: z.number().int(),
});
export type InspectAnswer = z.infer<typeof inspectSchema>;

export const infoSchema = z.object({
  CgroupDriver: z.string(),
  CgroupVersion: z.string().nullish(),
});
export type InfoAnswer = z.infer<typeof infoSchema>;

export const listSchema = z.array(z.object({ Id: z.string(), State: z.string().optional() }));

export const eventSchema = z.object({
  Type: z.string(),
  Action: z.string(),
  Actor: z.object({ ID: z.string(), Attributes: z.record(z.string(), z.string()).nullish() }),
  timeNano: z.number().optional(),
});
export type EngineEvent = z.infer<typeof eventSchema>;

/** The labels of a container's series: its name and, from compose's labels, its project and service. */
export type ContainerLabels = { container: string; compose_project: string; compose_service: string };
export const CONTAINER_LABEL_NAMES = ['container', 'compose_project', 'compose_service'] as const;

export interface ContainerFacts {
  id: string;
  labels: ContainerLabels;
  image: string;
  restartPolicy: string;
  /** From the CPU_RESERVATION environment variable or the headroom.cpu-reservation label; Docker keeps none. */
  cpuReservationCores?: number;
  /** Labelled headroom.autosize=true: automatic sizing may change its limits. */
  autosize: boolean;
  /** The swarm service whose task the container is (its spec holds the limits the next task gets). */
  swarmService?: string;
  running: boolean;
  /** created, running, paused, restarting, removing, exited or dead. */
  status: string;
  /** The cgroup's path as the kernel names it on the host. */
  cgroupPath: string;
  restartCount: number;
  oomKilled: boolean;
  exitCode: number;
  /** Soft limits configured for the container (HostConfig.Ulimits) of the resources headroom watches, by ulimit name. */
  ulimits: Partial<Record<WatchedUlimit, number>>;
}

/** The ulimits whose use headroom watches: RLIMIT_NOFILE (the fds collector) and RLIMIT_NPROC (nproc). */
export const WATCHED_ULIMITS = ['nofile', 'nproc'] as const;
export type WatchedUlimit = (typeof WATCHED_ULIMITS)[number];

/** The configured soft limits of the watched ulimits. */
export function configuredUlimits(ulimits: InspectAnswer['HostConfig']['Ulimits']): ContainerFacts['ulimits'] {
  const configured: ContainerFacts['ulimits'] = {};
  for (const ulimit of ulimits ?? []) {
    const name = WATCHED_ULIMITS.find((watched) => watched === ulimit.Name);
    // -1 is unlimited.
    if (name !== undefined && ulimit.Soft >= 0) configured[name] = ulimit.Soft;
  }
  return configured;
}

export const CPU_RESERVATION_VARIABLE = 'CPU_RESERVATION';

function cpus(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+(\.\d+)?$/.test(text.trim())) return undefined;
  const value = Number(text);
  return value > 0 ? value : undefined;
}

/** The CPU reservation a container declares: its headroom.cpu-reservation label, else its CPU_RESERVATION variable. */
export function declaredCpuReservation(env: readonly string[] | null | undefined, labels: Record<string, string> | null | undefined): number | undefined {
  const fromLabel = cpus(labels?.[CPU_RESERVATION_LABEL]);
  if (fromLabel !== undefined) return fromLabel;
  const assignment = env?.find((entry) => entry.startsWith(`${CPU_RESERVATION_VARIABLE}=`));
  return cpus(assignment?.slice(CPU_RESERVATION_VARIABLE.length + 1));
}

/** systemd's slice unit names nest by their dashes: `a-b.slice` is `/a.slice/a-b.slice`. */
export function slicePath(slice: string): string {
  const name = slice.replace(/\.slice$/, '');
  if (name === '' || name === '-') return '';
  const parts = name.split('-');
  return parts.map((_, index) => `/${parts.slice(0, index + 1).join('-')}.slice`).join('');
}

/** Where Docker puts a container's cgroup, by cgroup driver (docker's daemon/oci cgroup naming). */
export function containerCgroupPath(id: string, driver: string, cgroupParent: string | null | undefined): string {
  if (driver === 'systemd') {
    const parent = cgroupParent && cgroupParent !== '' ? cgroupParent : 'system.slice';
    return `${slicePath(parent)}/docker-${id}.scope`;
  }
  const parent = cgroupParent && cgroupParent !== '' ? cgroupParent : '/docker';
  return `${parent.startsWith('/') ? parent : `/${parent}`}/${id}`.replace(/\/+/g, '/');
}

/**
 * The compose project and service of a container: compose's labels, or on a swarm the stack's (the stack is
 * the project; the service is the swarm service's name without the `<stack>_` docker stack deploy puts first).
 */
export function composeIdentity(labels: Record<string, string>): Pick<ContainerLabels, 'compose_project' | 'compose_service'> {
  const project = labels['com.docker.compose.project'];
  if (project !== undefined) return { compose_project: project, compose_service: labels['com.docker.compose.service'] ?? '' };
  const stack = labels['com.docker.stack.namespace'];
  const swarmService = labels['com.docker.swarm.service.name'];
  if (stack === undefined || swarmService === undefined) return { compose_project: '', compose_service: '' };
  return { compose_project: stack, compose_service: swarmService.startsWith(`${stack}_`) ? swarmService.slice(stack.length + 1) : swarmService };
}

export function containerFacts(inspect: InspectAnswer, driver: string): ContainerFacts {
  const labels = inspect.Config.Labels ?? {};
  const facts: ContainerFacts = {
    id: inspect.Id,
    labels: {
      container: inspect.Name.replace(/^\//, ''),
      ...composeIdentity(labels),
    },
    image: inspect.Config.Image,
    restartPolicy: inspect.HostConfig.RestartPolicy?.Name || 'no',
    running: inspect.State.Running,
    status: inspect.State.Status,
    cgroupPath: containerCgroupPath(inspect.Id, driver, inspect.HostConfig.CgroupParent),
    restartCount: inspect.RestartCount,
    oomKilled: inspect.State.OOMKilled,
    exitCode: inspect.State.ExitCode,
    autosize: labels[AUTOSIZE_LABEL] === 'true',
    ulimits: configuredUlimits(inspect.HostConfig.Ulimits),
  };
  const reservation = declaredCpuReservation(inspect.Config.Env, labels);
  if (reservation !== undefined) facts.cpuReservationCores = reservation;
  const swarmService = labels['com.docker.swarm.service.name'];
  if (swarmService !== undefined) facts.swarmService = swarmService;
  return facts;
}
