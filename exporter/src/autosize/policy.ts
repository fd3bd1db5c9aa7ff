// Automatic sizing's decisions (pure): whether to raise or lower one container's limits, to what, or why not.
// Every guardrail is a refusal with its reason; the caller records both kinds.
import type { Recommendation, Sizing } from '../recommend/decide.js';
import { formatCpus, formatMemorySize } from '../sizes.js';
import { TIERS, type Tier } from '../thresholds.js';
import { humanDuration } from '../recommend/decide.js';

export type Direction = 'up' | 'down';

export interface AutosizeSettings {
  /** No change goes above this tier's limits (--autosize.max-tier). */
  maxTier: Tier;
  cooldownSeconds: number;
  maxChangesPerDay: number;
  /** Host memory kept out of the sum of containers' memory limits. */
  hostMemoryReserveBytes: number;
  /** A memory limit stays at least the working set times (1 + this). */
  usageMargin: number;
}

export interface ContainerView {
  name: string;
  /** Labelled headroom.autosize=true. */
  optedIn: boolean;
  memoryLimitBytes: number;
  cpuLimitCores: number | null;
  memoryReservationBytes: number;
  /** The declared CPU reservation (Docker keeps none). */
  cpuReservationCores?: number;
  /** undefined: the cgroup could not be read. */
  workingSetBytes: number | undefined;
}

export interface HostView {
  memoryBytes: number;
  cpus: number;
  /** The memory limits of every other running container, summed. */
  otherMemoryLimitsBytes: number;
}

export interface RecentChanges {
  lastAppliedAt: number | undefined;
  appliedInLastDay: number;
}

/**
 * The limits a decision moves to: a tier, or the recommender's custom figures. Only the limits the container
 * has: a container without a CPU limit is not given one (null), nor one without a memory limit a memory cap.
 */
export interface Destination {
  size: Tier['name'] | 'custom';
  memoryLimitBytes: number | null;
  cpuLimitCores: number | null;
  /** Set with the limits on the way up; unchanged (undefined) on the way down. */
  memoryReservationBytes?: number;
  cpuReservationCores?: number;
}

export type Verdict = { resize: true; destination: Destination } | { resize: false; reason: string; destination?: Destination };

export const DAY_MS = 86_400_000;

function destinationOfSizing(size: Destination['size'], sizing: Sizing): Destination {
  return { size, memoryLimitBytes: sizing.memoryLimitBytes, cpuLimitCores: sizing.cpuLimitCores, memoryReservationBytes: sizing.memoryReservationBytes, cpuReservationCores: sizing.cpuReservationCores };
}

function tierDestination(tier: Tier): Destination {
  return destinationOfSizing(tier.name, tier);
}

/** The destination on the limits the container has; on the way up, a reservation never lower than the current one. */
function onItsLimits(destination: Destination, container: ContainerView): Destination {
  const restricted: Destination = { ...destination };
  if (container.memoryLimitBytes === 0) {
    restricted.memoryLimitBytes = null;
    delete restricted.memoryReservationBytes;
  } else if (restricted.memoryReservationBytes !== undefined) {
    restricted.memoryReservationBytes = Math.max(restricted.memoryReservationBytes, container.memoryReservationBytes);
  }
  if (container.cpuLimitCores === null) {
    restricted.cpuLimitCores = null;
    delete restricted.cpuReservationCores;
  }
  return restricted;
}

/**
 * The next tier up: the smallest at or above both limits and above at least one of the limits the container
 * has (a container with only a memory limit is not "raised" by being given a CPU limit).
 */
function nextTierUp(container: ContainerView): Tier | undefined {
  const cpu = container.cpuLimitCores ?? 0;
  return TIERS.find((tier) => tier.memoryLimitBytes >= container.memoryLimitBytes && tier.cpuLimitCores >= cpu
    && ((container.memoryLimitBytes > 0 && tier.memoryLimitBytes > container.memoryLimitBytes) || (container.cpuLimitCores !== null && tier.cpuLimitCores > cpu)));
}

function isExactly(tier: Tier | undefined, container: ContainerView): boolean {
  return tier !== undefined && tier.memoryLimitBytes === container.memoryLimitBytes && tier.cpuLimitCores === container.cpuLimitCores;
}

export function describeLimits(memoryBytes: number | null, cpuCores: number | null): string {
  return `${memoryBytes !== null && memoryBytes > 0 ? formatMemorySize(memoryBytes) : 'no memory limit'}, ${cpuCores === null ? 'no CPU limit' : `${formatCpus(cpuCores)} CPUs`}`;
}

/** Refusals every change shares: opt-in, cooldown, daily count, a readable working set. */
function commonRefusal(container: ContainerView, recent: RecentChanges, settings: AutosizeSettings, now: number): string | undefined {
  if (!container.optedIn) return 'not opted in: the container has no label headroom.autosize=true';
  if (recent.lastAppliedAt !== undefined && now - recent.lastAppliedAt < settings.cooldownSeconds * 1000) {
    return `cooldown: resized ${humanDuration((now - recent.lastAppliedAt) / 1000)} ago, the next change is allowed ${humanDuration(settings.cooldownSeconds)} after it (--autosize.cooldown)`;
  }
  if (recent.appliedInLastDay >= settings.maxChangesPerDay) return `daily limit: ${recent.appliedInLastDay} changes in the last 24 h (--autosize.max-changes-per-day=${settings.maxChangesPerDay})`;
  if (container.workingSetBytes === undefined) return 'usage unreadable: the container\'s memory cgroup could not be read, so no change is safe';
  return undefined;
}

/** Refusals of a destination: the ceiling, usage plus margin, host capacity. */
function destinationRefusal(destination: Destination, container: ContainerView, host: HostView, settings: AutosizeSettings): string | undefined {
  const ceiling = settings.maxTier;
  if ((destination.memoryLimitBytes ?? 0) > ceiling.memoryLimitBytes || (destination.cpuLimitCores ?? 0) > ceiling.cpuLimitCores) {
    return `ceiling: ${destination.size} (${describeLimits(destination.memoryLimitBytes, destination.cpuLimitCores)}) is above the ceiling tier ${ceiling.name} (--autosize.max-tier)`;
  }
  if (destination.memoryLimitBytes !== null) {
    const floor = (container.workingSetBytes ?? 0) * (1 + settings.usageMargin);
    if (destination.memoryLimitBytes < floor) {
      return `usage: a memory limit of ${formatMemorySize(destination.memoryLimitBytes)} is under the working set ${formatMemorySize(container.workingSetBytes ?? 0)} plus ${Math.round(settings.usageMargin * 100)} %`;
    }
    const allowed = host.memoryBytes - settings.hostMemoryReserveBytes;
    const sum = host.otherMemoryLimitsBytes + destination.memoryLimitBytes;
    if (destination.memoryLimitBytes > container.memoryLimitBytes && sum > allowed) {
      return `host capacity: memory limits would sum to ${formatMemorySize(sum)}, over the host's ${formatMemorySize(host.memoryBytes)} less the reserve of ${formatMemorySize(settings.hostMemoryReserveBytes)} (--autosize.host-memory-reserve)`;
    }
  }
  if (destination.cpuLimitCores !== null && destination.cpuLimitCores > host.cpus) return `host capacity: a CPU limit of ${formatCpus(destination.cpuLimitCores)} is over the host's ${host.cpus} CPUs`;
  return undefined;
}

/**
 * Up: one tier above the current limits, or the recommender's sizing where that is higher. A container
 * whose limits match no tier goes to the smallest tier above them.
 */
export function decideUp(container: ContainerView, host: HostView, recent: RecentChanges, settings: AutosizeSettings, now: number, recommendation?: Recommendation): Verdict {
  const refusal = commonRefusal(container, recent, settings, now);
  if (refusal) return { resize: false, reason: refusal };
  if (container.memoryLimitBytes === 0 && container.cpuLimitCores === null) return { resize: false, reason: 'no limits: the container runs without a memory or CPU limit, there is nothing to raise' };
  const next = nextTierUp(container);
  let destination: Destination | undefined = next ? tierDestination(next) : undefined;
  // A recommendation from too little history does not move anything.
  if (recommendation?.confidence === 'ok' && (destination === undefined || recommendation.sizing.memoryLimitBytes > (destination.memoryLimitBytes ?? 0) || recommendation.sizing.cpuLimitCores > (destination.cpuLimitCores ?? 0))) {
    const raises = recommendation.sizing.memoryLimitBytes > container.memoryLimitBytes || recommendation.sizing.cpuLimitCores > (container.cpuLimitCores ?? 0);
    if (raises) destination = destinationOfSizing(recommendation.size, recommendation.sizing);
  }
  if (destination === undefined) return { resize: false, reason: `ceiling: no tier is above ${describeLimits(container.memoryLimitBytes, container.cpuLimitCores)}` };
  destination = onItsLimits(destination, container);
  const targetProblem = destinationRefusal(destination, container, host, settings);
  return targetProblem ? { resize: false, reason: targetProblem, destination } : { resize: true, destination };
}

/**
 * Down: only when the recommender, with enough history, finds a smaller tier keeps the need under the
 * warning line; one tier at a time; the reservation stays, and no limit goes to or under it.
 */
export function decideDown(container: ContainerView, host: HostView, recent: RecentChanges, settings: AutosizeSettings, now: number, recommendation: Recommendation): Verdict | undefined {
  const current = TIERS.findIndex((tier) => isExactly(tier, container));
  const recommended = TIERS.findIndex((tier) => tier.name === recommendation.size);
  // Only a container at a tier, with a smaller tier recommended, is a candidate; anything else is no decision.
  if (current <= 0 || recommended === -1 || recommended >= current) return undefined;
  const refusal = commonRefusal(container, recent, settings, now);
  const lower = TIERS[current - 1]!;
  const destination = onItsLimits({ size: lower.name, memoryLimitBytes: lower.memoryLimitBytes, cpuLimitCores: lower.cpuLimitCores }, container);
  if (refusal) return { resize: false, reason: refusal, destination };
  if (recommendation.confidence !== 'ok') return { resize: false, reason: 'low confidence: the recommender has too little history for a scale down', destination };
  if (destination.memoryLimitBytes !== null && destination.memoryLimitBytes <= container.memoryReservationBytes) {
    return { resize: false, reason: `reservation: ${lower.name}'s memory limit ${formatMemorySize(destination.memoryLimitBytes)} is not above the reservation ${formatMemorySize(container.memoryReservationBytes)}`, destination };
  }
  if (container.cpuReservationCores !== undefined && destination.cpuLimitCores !== null && destination.cpuLimitCores < container.cpuReservationCores) {
    return { resize: false, reason: `reservation: ${lower.name}'s CPU limit ${formatCpus(destination.cpuLimitCores)} is under the reservation ${formatCpus(container.cpuReservationCores)}`, destination };
  }
  const targetProblem = destinationRefusal(destination, container, host, settings);
  return targetProblem ? { resize: false, reason: targetProblem, destination } : { resize: true, destination };
}
