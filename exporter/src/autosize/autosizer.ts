// Automatic sizing in host mode: gathers what a decision needs (the container's limits, its working set, the
// host's capacity, its recent changes, the recommender's figure), decides (policy.ts), applies in place
// (resize/container.ts), and records every decision. Decisions run one at a time, so two alerts arriving
// together give one change and one refusal, and two containers raised at once each see the other's new limit.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { ContainerFacts } from '../docker/containers.js';
import type { WatchedContainer } from '../docker/watcher.js';
import { readHostCpu, readHostMemory } from '../kernel/host.js';
import type { Recommendation } from '../recommend/decide.js';
import { updateEnvText } from '../recommend/envfile.js';
import type { DockerHost } from '../docker-host.js';
import type { Tally } from '../scrape/samples.js';
import { applyResize, readCgroupFigures, inspectContainer, type ContainerAnswer } from '../resize/container.js';
import { cpuLimitCores, type SizeRequest } from '../resize/plan.js';
import type { EngineError } from '../docker/engine.js';
import { formatCpus, formatMemorySize } from '../sizes.js';
import type { ActingAlert } from './payload.js';
import { DAY_MS, decideDown, decideUp, describeLimits, type AutosizeSettings, type ContainerView, type Direction, type RecentChanges, type Destination, type Verdict } from './policy.js';
import type { AutosizeStore, Decision } from './store.js';

/**
 * What an applied decision on a swarm task's container says (docs/autosize.md, "On a swarm"): the change is
 * in place, the service's spec keeps its limits, and the next task of the service gets those.
 */
export function swarmDrift(service: string, destination: Destination): string {
  const flags = [
    destination.memoryLimitBytes === null ? '' : ` --limit-memory ${formatMemorySize(destination.memoryLimitBytes)}`,
    destination.cpuLimitCores === null ? '' : ` --limit-cpu ${formatCpus(destination.cpuLimitCores)}`,
  ].join('');
  return `; in place only: this container is a task of swarm service ${service}, whose spec keeps its own limits, and the service's next task (a reschedule, a node failure, docker service update) gets those again; to keep this size: docker service update${flags} ${service}`;
}

export interface AutosizerDeps {
  watcher: { list(): WatchedContainer[] };
  dockerHost: DockerHost;
  store: AutosizeStore;
  settings: AutosizeSettings;
  /** Decisions by container, direction and result (headroom_autosize_decisions_total). */
  decisions: Tally;
  log: Logger;
  /** The recommender's figure for a container, on the instance that saw it when known (undefined without Prometheus or data). */
  recommendation?: (container: string, instance?: string) => Promise<Recommendation | undefined>;
  /** The compose env file whose sizes follow the changes of one compose project's service's container. */
  envFile?: { path: string; composeProject: string; composeService: string };
  /** This host's name (--autosize.host): recorded with each decision; '' when not set. */
  host?: string;
  now?: () => number;
}

export class Autosizer {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  /** Updates sent, by container, in case recording one failed: the guardrails still count them. */
  private readonly sent = new Map<string, number[]>();
  /** The last scale-down refusal recorded per container: the periodic check records a refusal only when it changes. */
  private readonly lastDownRefusal = new Map<string, string>();

  constructor(private readonly deps: AutosizerDeps) {
    this.now = deps.now ?? Date.now;
  }

  private running(name: string): ContainerFacts | undefined {
    return this.deps.watcher.list().map(({ facts }) => facts).find((facts) => facts.running && facts.labels.container === name);
  }

  /** Runs task after every earlier decision. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private get host(): string {
    return this.deps.host ?? '';
  }

  /** A critical or danger alert of a container: scale up. undefined when no running container has that name. */
  async onAlert(alert: ActingAlert): Promise<Decision | undefined> {
    if (!this.running(alert.container)) return undefined;
    return this.serialized(async () => {
      const facts = this.running(alert.container);
      return facts ? this.decide('up', facts, `${alert.alertname} ${alert.severity}`, alert.instance || undefined) : undefined;
    });
  }

  /** The periodic check: every opted-in container the recommender finds too big gets a decision. */
  async checkScaleDown(): Promise<Decision[]> {
    const decisions: Decision[] = [];
    for (const facts of this.deps.watcher.list().map((container) => container.facts).filter((candidate) => candidate.running && candidate.autosize)) {
      const decision = await this.serialized(() => this.decide('down', facts, 'scale-down check'));
      if (decision) decisions.push(decision);
    }
    return decisions;
  }

  private async hostView(self: string): Promise<{ memoryBytes: number; cpus: number; otherMemoryLimitsBytes: number }> {
    const { procfs } = this.deps.dockerHost;
    let otherMemoryLimitsBytes = 0;
    for (const { facts } of this.deps.watcher.list()) {
      if (!facts.running || facts.id === self) continue;
      try {
        otherMemoryLimitsBytes += (await inspectContainer(this.deps.dockerHost, facts.id)).HostConfig.Memory;
      } catch (error) {
        // Gone meanwhile: it holds no memory. Anything else: the sum is unknown, and no raise is safe.
        if ((error as EngineError).status !== 404) throw new Error(`host capacity unknown: ${(error as Error).message}`);
      }
    }
    return { memoryBytes: readHostMemory(procfs).totalBytes, cpus: readHostCpu(procfs).cpuCount, otherMemoryLimitsBytes };
  }

  private async view(facts: ContainerFacts, container: ContainerAnswer): Promise<ContainerView> {
    let workingSetBytes: number | undefined;
    try {
      workingSetBytes = (await readCgroupFigures(this.deps.dockerHost, container)).workingSetBytes;
    } catch (error) {
      this.deps.log.warn({ container: facts.labels.container, err: (error as Error).message }, 'autosize: cannot read the container\'s cgroup');
    }
    const view: ContainerView = {
      name: facts.labels.container,
      optedIn: facts.autosize,
      memoryLimitBytes: container.HostConfig.Memory,
      cpuLimitCores: cpuLimitCores(container.HostConfig),
      memoryReservationBytes: container.HostConfig.MemoryReservation,
      workingSetBytes,
    };
    if (facts.cpuReservationCores !== undefined) view.cpuReservationCores = facts.cpuReservationCores;
    return view;
  }

  private async recommendationFor(container: string, instance?: string): Promise<Recommendation | undefined> {
    try {
      return await this.deps.recommendation?.(container, instance);
    } catch (error) {
      this.deps.log.warn({ container, err: (error as Error).message }, 'autosize: no recommendation');
      return undefined;
    }
  }

  /** The guardrails' view of recent changes: the database's, and the updates sent that it may lack. */
  private async recentChanges(container: string, now: number): Promise<RecentChanges> {
    const recorded = await this.deps.store.recentChanges(this.host, container, now);
    const sent = (this.sent.get(container) ?? []).filter((at) => at > now - DAY_MS);
    const last = Math.max(recorded.lastAppliedAt ?? -Infinity, ...sent);
    return { lastAppliedAt: Number.isFinite(last) ? last : undefined, appliedInLastDay: Math.max(recorded.appliedInLastDay, sent.length) };
  }

  private async decide(direction: Direction, facts: ContainerFacts, trigger: string, instance?: string): Promise<Decision | undefined> {
    const now = this.now();
    let container: ContainerAnswer;
    try {
      container = await inspectContainer(this.deps.dockerHost, facts.id);
    } catch (error) {
      return this.finish(facts, { decidedAt: now, direction, trigger, fromMemoryBytes: 0, fromCpus: null }, { reason: `engine: ${(error as Error).message}` }, 'refused');
    }
    const base = { decidedAt: now, direction, trigger, fromMemoryBytes: container.HostConfig.Memory, fromCpus: cpuLimitCores(container.HostConfig) };
    const view = await this.view(facts, container);
    const recent = await this.recentChanges(view.name, now);
    let verdict: Verdict | undefined;
    try {
      if (direction === 'up') {
        // A container not opted in is refused before anything else is read.
        const recommendation = view.optedIn ? await this.recommendationFor(view.name, instance) : undefined;
        verdict = decideUp(view, view.optedIn ? await this.hostView(facts.id) : { memoryBytes: 0, cpus: 0, otherMemoryLimitsBytes: 0 }, recent, this.deps.settings, now, recommendation);
      } else {
        const recommendation = await this.recommendationFor(view.name);
        if (!recommendation) return undefined;
        verdict = decideDown(view, await this.hostView(facts.id), recent, this.deps.settings, now, recommendation);
        if (!verdict) return undefined;
      }
    } catch (error) {
      verdict = { resize: false, reason: (error as Error).message };
    }
    if (!verdict.resize) {
      if (direction === 'down') {
        if (this.lastDownRefusal.get(view.name) === verdict.reason) return undefined;
        this.lastDownRefusal.set(view.name, verdict.reason);
      }
      return this.finish(facts, base, verdict, 'refused');
    }
    this.lastDownRefusal.delete(view.name);
    const { destination } = verdict;
    const request: SizeRequest = {};
    if (destination.memoryLimitBytes !== null) request.memoryBytes = destination.memoryLimitBytes;
    if (destination.cpuLimitCores !== null) request.cpuCores = destination.cpuLimitCores;
    if (destination.memoryReservationBytes !== undefined) request.memoryReservationBytes = destination.memoryReservationBytes;
    const sentAt = this.now();
    this.sent.set(view.name, [...(this.sent.get(view.name) ?? []).filter((at) => at > sentAt - DAY_MS), sentAt]);
    try {
      const applied = await applyResize(this.deps.dockerHost, container, request);
      if (applied.problems.length > 0) return this.finish(facts, base, { reason: `applied, but read back: ${applied.problems.join('; ')}`, destination }, 'failed');
    } catch (error) {
      return this.finish(facts, base, { reason: (error as Error).message, destination }, 'failed');
    }
    this.persist(facts, destination);
    const reason = `${direction === 'up' ? 'raised' : 'lowered'} to ${destination.size} (${describeLimits(destination.memoryLimitBytes, destination.cpuLimitCores)}) from ${describeLimits(view.memoryLimitBytes, view.cpuLimitCores)}`;
    return this.finish(facts, base, { reason: facts.swarmService === undefined ? reason : `${reason}${swarmDrift(facts.swarmService, destination)}`, destination }, 'applied');
  }

  /** Writes the new sizes into the env file when the container is the compose service it sizes. */
  private persist(facts: ContainerFacts, destination: Destination): void {
    const envFile = this.deps.envFile;
    if (!envFile || facts.labels.compose_project !== envFile.composeProject || facts.labels.compose_service !== envFile.composeService) return;
    const variables: Record<string, string> = {};
    if (destination.memoryLimitBytes !== null) variables.MEMORY_LIMIT = formatMemorySize(destination.memoryLimitBytes);
    if (destination.cpuLimitCores !== null) variables.CPU_LIMIT = formatCpus(destination.cpuLimitCores);
    if (destination.memoryReservationBytes !== undefined) variables.MEMORY_RESERVATION = formatMemorySize(destination.memoryReservationBytes);
    if (destination.cpuReservationCores !== undefined) variables.CPU_RESERVATION = formatCpus(destination.cpuReservationCores);
    try {
      const before = existsSync(envFile.path) ? readFileSync(envFile.path, 'utf8') : '';
      // In place, not by rename: the file may be a bind mount.
      writeFileSync(envFile.path, updateEnvText(before, variables));
    } catch (error) {
      this.deps.log.error({ file: envFile.path, err: (error as Error).message }, 'autosize: cannot write the env file');
    }
  }

  private async finish(facts: ContainerFacts, base: Pick<Decision, 'decidedAt' | 'direction' | 'trigger' | 'fromMemoryBytes' | 'fromCpus'>, verdict: { reason: string; destination?: Destination }, result: Decision['result']): Promise<Decision> {
    const decision: Decision = {
      ...base,
      host: this.host,
      container: facts.labels.container,
      composeProject: facts.labels.compose_project,
      composeService: facts.labels.compose_service,
      result,
      reason: verdict.reason,
      toSize: verdict.destination?.size ?? null,
      toMemoryBytes: verdict.destination?.memoryLimitBytes ?? null,
      toCpus: verdict.destination?.cpuLimitCores ?? null,
    };
    try {
      await this.deps.store.record(decision);
    } catch (error) {
      this.deps.log.error({ err: (error as Error).message }, 'autosize: cannot record a decision');
    }
    this.deps.decisions.add({ container: decision.container, direction: decision.direction, result: decision.result });
    this.deps.log[result === 'failed' ? 'error' : 'info']({ container: decision.container, direction: decision.direction, result, reason: decision.reason, trigger: decision.trigger }, 'autosize decision');
    return decision;
  }
}
