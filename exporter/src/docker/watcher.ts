// Host mode's view of the engine: every container with its facts and history, kept from the events stream
// (create, start, die, oom, destroy, update) and one inspection per change. Nothing polls: between scrapes the only
// work is an event when the engine sends one. When the stream breaks, it reconnects (backing off) and lists
// every container again, so nothing is missed for long.
import type { Logger } from 'pino';
import type { ProbeCheck } from '../health.js';
import { containerFacts, eventSchema, infoSchema, inspectSchema, listSchema, type ContainerFacts, type EngineEvent } from './containers.js';
import { EngineError, type EngineClient } from './engine.js';
import { historyFromInspection, onDie, onOom, onStart, type ContainerHistory } from './lifecycle.js';

export interface WatchedContainer { facts: ContainerFacts; history: ContainerHistory }

/** The engine must answer a ping within this for the `docker` sub-status to be ok. */
export const DOCKER_CHECK_TIMEOUT_MS = 2000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;
const EVENT_FILTERS = encodeURIComponent(JSON.stringify({ type: ['container'], event: ['create', 'start', 'die', 'oom', 'destroy', 'update'] }));

export class DockerWatcher {
  private readonly containers = new Map<string, WatchedContainer>();
  private driver = 'cgroupfs';
  private stream: { stop(): void } | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs = RECONNECT_MIN_MS;
  private stopped = false;
  /** Events are handled one after another: each may wait for an inspection. */
  private queue: Promise<void> = Promise.resolve();
  /** Why the events stream is down, while it is. */
  streamError: string | undefined = 'not connected yet';

  constructor(private readonly client: EngineClient, private readonly log: Logger) {}

  /** Connects; an engine that does not answer yet is retried in the background (the docker sub-status says so). */
  async start(): Promise<void> {
    try {
      await this.connect();
    } catch (error) {
      this.disconnected(error);
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.stream?.stop();
  }

  /** Every container the engine has, running or not. */
  list(): WatchedContainer[] {
    return [...this.containers.values()];
  }

  /** Waits for the events received so far to be handled (tests, and a scrape right after an event). */
  settled(): Promise<void> {
    return this.queue;
  }

  probe(): ProbeCheck {
    return {
      name: 'docker',
      required: true,
      timeoutMs: DOCKER_CHECK_TIMEOUT_MS,
      probe: async () => {
        await this.client.get('/version', DOCKER_CHECK_TIMEOUT_MS);
        const running = this.list().filter((container) => container.facts.running).length;
        if (this.streamError !== undefined) return { status: 'degraded', message: `${this.client.address} answers; its events stream is down (${this.streamError}), reconnecting`, details: { containers: this.containers.size, running } };
        return { status: 'ok', message: `${this.client.address} answers; ${running} of ${this.containers.size} containers running`, details: { containers: this.containers.size, running, cgroup_driver: this.driver } };
      },
    };
  }

  private async connect(): Promise<void> {
    const info = infoSchema.parse(await this.client.get('/info'));
    this.driver = info.CgroupDriver;
    // Subscribe first, then list: an event between the two is then seen, at worst twice.
    const stream = this.client.stream(`/events?filters=${EVENT_FILTERS}`, (value) => this.enqueue(value));
    this.stream = stream;
    stream.done.then(() => this.disconnected(new Error('the engine closed the events stream')), (error: unknown) => this.disconnected(error));
    const listed = listSchema.parse(await this.client.get('/containers/json?all=true'));
    const ids = new Set(listed.map((entry) => entry.Id));
    for (const id of this.containers.keys()) if (!ids.has(id)) this.containers.delete(id);
    await Promise.all(listed.map((entry) => this.refresh(entry.Id)));
    this.streamError = undefined;
    this.reconnectDelayMs = RECONNECT_MIN_MS;
    this.log.info({ engine: this.client.address, containers: this.containers.size, cgroupDriver: this.driver, cgroupVersion: info.CgroupVersion }, 'watching the engine');
  }

  private disconnected(error: unknown): void {
    if (this.stopped) return;
    this.streamError = error instanceof Error ? error.message : String(error);
    this.stream?.stop();
    this.stream = undefined;
    if (this.reconnectTimer) return;
    this.log.warn({ engine: this.client.address, err: this.streamError, retryInMs: this.reconnectDelayMs }, 'engine events stream down');
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.connect().catch((next: unknown) => this.disconnected(next));
    }, this.reconnectDelayMs);
    this.reconnectTimer.unref();
    this.reconnectDelayMs = Math.min(RECONNECT_MAX_MS, this.reconnectDelayMs * 2);
  }

  /** Inspects a container and records it; a container gone meanwhile is forgotten. Returns the inspection's OOMKilled. */
  private async refresh(id: string): Promise<WatchedContainer | undefined> {
    let answer;
    try {
      answer = inspectSchema.parse(await this.client.get(`/containers/${id}/json`));
    } catch (error) {
      if (error instanceof EngineError && error.status === 404) {
        this.containers.delete(id);
        return undefined;
      }
      throw error;
    }
    const facts = containerFacts(answer, this.driver);
    const known = this.containers.get(id);
    const watched = known ? { facts, history: known.history } : { facts, history: historyFromInspection(facts.restartCount, facts.status, facts.oomKilled, facts.exitCode) };
    this.containers.set(id, watched);
    return watched;
  }

  private enqueue(value: unknown): void {
    const parsed = eventSchema.safeParse(value);
    if (!parsed.success || parsed.data.Type !== 'container') return;
    const event = parsed.data;
    this.queue = this.queue.then(() => this.handle(event)).catch((error: unknown) => {
      this.log.warn({ engine: this.client.address, action: event.Action, err: (error as Error).message }, 'cannot follow a container event');
    });
  }

  private async handle(event: EngineEvent): Promise<void> {
    const id = event.Actor.ID;
    switch (event.Action) {
      case 'create':
      case 'update': // its limits changed: they are read again from the cgroup
        await this.refresh(id);
        break;
      case 'start': {
        const known = this.containers.get(id);
        const watched = await this.refresh(id);
        if (known && watched) onStart(watched.history, watched.facts.restartCount);
        break;
      }
      case 'oom': {
        const watched = this.containers.get(id) ?? await this.refresh(id);
        if (watched) onOom(watched.history);
        break;
      }
      case 'die': {
        const exitCode = Number(event.Actor.Attributes?.exitCode ?? 0);
        const before = this.containers.get(id);
        const watched = await this.refresh(id);
        const history = watched?.history ?? before?.history;
        if (history) onDie(history, Number.isInteger(exitCode) ? exitCode : 0, watched?.facts.oomKilled ?? false);
        break;
      }
      case 'destroy':
        this.containers.delete(id);
        break;
      default:
        break;
    }
  }
}
