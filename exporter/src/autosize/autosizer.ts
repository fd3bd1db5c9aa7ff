// Automatic sizing in host mode: gathers what a decision needs (the container's limits, its working set, the
// host's capacity, its recent changes, the recommender's figure), decides (policy.ts), applies in place
// (resize/container.ts), and records every decision. One container's decisions run one after another, so two
// alerts arriving together give one change and one refusal.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { Counter } from 'prom-client';
import type { ContainerFacts } from '../docker/containers.js';
import type { WatchedContainer } from '../docker/watcher.js';
import { readHostCpu, readHostMemory } from '../kernel/host.js';
import type { Recommendation } from '../recommend/decide.js';
import { updateEnvText } from '../recommend/envfile.js';
import { applyResize, cgroupLimits, inspectContainer, type ContainerAnswer, type ResizeTarget } from '../resize/container.js';
import { cpuLimitCores } from '../resize/plan.js';
import { formatCpus, formatMemorySize } from '../sizes.js';
import type { ActingAlert } from './payload.js';
import { decideDown, decideUp, describeLimits, type AutosizeSettings, type ContainerView, type Direction, type Target, type Verdict } from './policy.js';
import type { AutosizeStore, Decision } from './store.js';

export type DecisionLabels = 'container' | 'direction' | 'result';

export interface AutosizerDeps {
  watcher: { list(): WatchedContainer[] };
  engine: ResizeTarget;
  store: AutosizeStore;
  settings: AutosizeSettings;
  decisions: Counter<DecisionLabels>;
  log: Logger;
  /** The recommender's figure for a container (undefined without Prometheus or without data). */
  recommendation?: (container: string) => Promise<Recommendation | undefined>;
  /** The compose env file whose sizes follow the changes of one compose service's container. */
  envFile?: { path: string; composeService: string };
  now?: () => number;
}

export class Autosizer {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly now: () => number;

  constructor(private readonly deps: AutosizerDeps) {
    this.now = deps.now ?? Date.now;
  }

  private running(name: string): ContainerFacts | undefined {
    return this.deps.watcher.list().map(({ facts }) => facts).find((facts) => facts.running && facts.labels.container === name);
  }

  /** Runs task after every earlier task of the same container. */
  private serialized<T>(container: string, task: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(container) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.queues.set(container, settled);
    void settled.then(() => { if (this.queues.get(container) === settled) this.queues.delete(container); });
    return next;
  }

  /** A critical or danger alert of a container: scale up. undefined when no running container has that name. */
  async onAlert(alert: ActingAlert): Promise<Decision | undefined> {
    if (!this.running(alert.container)) return undefined;
    return this.serialized(alert.container, async () => {
      const facts = this.running(alert.container);
      return facts ? this.decide('up', facts, `${alert.alertname} ${alert.severity}`) : undefined;
    });
  }

  /** The periodic check: every opted-in container the recommender finds too big gets a decision. */
  async checkScaleDown(): Promise<Decision[]> {
    const decisions: Decision[] = [];
    for (const facts of this.deps.watcher.list().map((container) => container.facts).filter((candidate) => candidate.running && candidate.autosize)) {
      const decision = await this.serialized(facts.labels.container, () => this.decide('down', facts, 'scale-down check'));
      if (decision) decisions.push(decision);
    }
    return decisions;
  }

  private async hostView(self: string): Promise<{ memoryBytes: number; cpus: number; otherMemoryLimitsBytes: number }> {
    const { procfs } = this.deps.engine;
    let otherMemoryLimitsBytes = 0;
    for (const { facts } of this.deps.watcher.list()) {
      if (!facts.running || facts.id === self) continue;
      try {
        otherMemoryLimitsBytes += (await inspectContainer(this.deps.engine, facts.id)).HostConfig.Memory;
      } catch { /* gone meanwhile */ }
    }
    return { memoryBytes: readHostMemory(procfs).totalBytes, cpus: readHostCpu(procfs).cpuCount, otherMemoryLimitsBytes };
  }

  private async view(facts: ContainerFacts, container: ContainerAnswer): Promise<ContainerView> {
    let workingSetBytes: number | undefined;
    try {
      workingSetBytes = (await cgroupLimits(this.deps.engine, container)).workingSetBytes;
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

  private async recommendationFor(container: string): Promise<Recommendation | undefined> {
    try {
      return await this.deps.recommendation?.(container);
    } catch (error) {
      this.deps.log.warn({ container, err: (error as Error).message }, 'autosize: no recommendation');
      return undefined;
    }
  }

  private async decide(direction: Direction, facts: ContainerFacts, trigger: string): Promise<Decision | undefined> {
    const now = this.now();
    let container: ContainerAnswer;
    try {
      container = await inspectContainer(this.deps.engine, facts.id);
    } catch (error) {
      return this.finish(facts, { decidedAt: now, direction, trigger, fromMemoryBytes: 0, fromCpus: null }, { reason: `engine: ${(error as Error).message}` }, 'failed');
    }
    const base = { decidedAt: now, direction, trigger, fromMemoryBytes: container.HostConfig.Memory, fromCpus: cpuLimitCores(container.HostConfig) };
    const view = await this.view(facts, container);
    const recent = await this.deps.store.recentChanges(view.name, now);
    let verdict: Verdict | undefined;
    if (direction === 'up') {
      // The opt-in is checked before anything else is read: a container not opted in costs one inspection.
      const recommendation = view.optedIn ? await this.recommendationFor(view.name) : undefined;
      verdict = decideUp(view, view.optedIn ? await this.hostView(facts.id) : { memoryBytes: 0, cpus: 0, otherMemoryLimitsBytes: 0 }, recent, this.deps.settings, now, recommendation);
    } else {
      const recommendation = await this.recommendationFor(view.name);
      if (!recommendation) return undefined;
      verdict = decideDown(view, await this.hostView(facts.id), recent, this.deps.settings, now, recommendation);
      if (!verdict) return undefined;
    }
    if (!verdict.resize) return this.finish(facts, base, verdict, 'refused');
    const { target } = verdict;
    const request = { memoryBytes: target.memoryLimitBytes, cpuCores: target.cpuLimitCores, ...(target.memoryReservationBytes === undefined ? {} : { memoryReservationBytes: target.memoryReservationBytes }) };
    try {
      const applied = await applyResize(this.deps.engine, container, request);
      if (applied.problems.length > 0) return this.finish(facts, base, { reason: `applied, but read back: ${applied.problems.join('; ')}`, target }, 'failed');
    } catch (error) {
      return this.finish(facts, base, { reason: (error as Error).message, target }, 'failed');
    }
    this.persist(facts, target);
    const reason = `${direction === 'up' ? 'raised' : 'lowered'} to ${target.size} (${describeLimits(target.memoryLimitBytes, target.cpuLimitCores)}) from ${describeLimits(view.memoryLimitBytes, view.cpuLimitCores)}`;
    return this.finish(facts, base, { reason, target }, 'applied');
  }

  /** Writes the new sizes into the env file when the container is the compose service it sizes. */
  private persist(facts: ContainerFacts, target: Target): void {
    const envFile = this.deps.envFile;
    if (!envFile || facts.labels.compose_service !== envFile.composeService) return;
    const variables: Record<string, string> = { MEMORY_LIMIT: formatMemorySize(target.memoryLimitBytes), CPU_LIMIT: formatCpus(target.cpuLimitCores) };
    if (target.memoryReservationBytes !== undefined) variables.MEMORY_RESERVATION = formatMemorySize(target.memoryReservationBytes);
    if (target.cpuReservationCores !== undefined) variables.CPU_RESERVATION = formatCpus(target.cpuReservationCores);
    try {
      const before = existsSync(envFile.path) ? readFileSync(envFile.path, 'utf8') : '';
      // In place, not by rename: the file may be a bind mount.
      writeFileSync(envFile.path, updateEnvText(before, variables));
    } catch (error) {
      this.deps.log.error({ file: envFile.path, err: (error as Error).message }, 'autosize: cannot write the env file');
    }
  }

  private async finish(facts: ContainerFacts, base: Pick<Decision, 'decidedAt' | 'direction' | 'trigger' | 'fromMemoryBytes' | 'fromCpus'>, verdict: { reason: string; target?: Target }, result: Decision['result']): Promise<Decision> {
    const decision: Decision = {
      ...base,
      container: facts.labels.container,
      composeProject: facts.labels.compose_project,
      composeService: facts.labels.compose_service,
      result,
      reason: verdict.reason,
      toSize: verdict.target?.size ?? null,
      toMemoryBytes: verdict.target?.memoryLimitBytes ?? null,
      toCpus: verdict.target?.cpuLimitCores ?? null,
    };
    try {
      await this.deps.store.record(decision);
    } catch (error) {
      this.deps.log.error({ err: (error as Error).message }, 'autosize: cannot record a decision');
    }
    this.deps.decisions.inc({ container: decision.container, direction: decision.direction, result: decision.result });
    this.deps.log[result === 'failed' ? 'error' : 'info']({ container: decision.container, direction: decision.direction, result, reason: decision.reason, trigger: decision.trigger }, 'autosize decision');
    return decision;
  }
}
