// Automatic sizing's decisions in the statistics database (table autosize_decisions, migration 004).
import type { Knex } from 'knex';
import type { Direction, RecentChanges } from './policy.js';
import { DAY_MS } from './policy.js';

export type DecisionResult = 'applied' | 'refused' | 'failed';

export interface Decision {
  decidedAt: number;
  host: string;
  container: string;
  composeProject: string;
  composeService: string;
  direction: Direction;
  result: DecisionResult;
  reason: string;
  trigger: string;
  fromMemoryBytes: number;
  fromCpus: number | null;
  toSize: string | null;
  toMemoryBytes: number | null;
  toCpus: number | null;
}

interface DecisionRow {
  id: number;
  decided_at: number | string;
  host: string;
  container: string;
  compose_project: string;
  compose_service: string;
  direction: Direction;
  result: DecisionResult;
  reason: string;
  trigger: string;
  from_memory_bytes: number | string;
  from_cpus: number | null;
  to_size: string | null;
  to_memory_bytes: number | string | null;
  to_cpus: number | null;
}

const TABLE = 'autosize_decisions';
const CHANGE_RESULTS: DecisionResult[] = ['applied', 'failed'];

/** PostgreSQL gives bigint columns back as strings. */
const integer = (value: number | string): number => Number(value);

function fromRow(row: DecisionRow): Decision & { id: number } {
  return {
    id: row.id,
    decidedAt: integer(row.decided_at),
    host: row.host,
    container: row.container,
    composeProject: row.compose_project,
    composeService: row.compose_service,
    direction: row.direction,
    result: row.result,
    reason: row.reason,
    trigger: row.trigger,
    fromMemoryBytes: integer(row.from_memory_bytes),
    fromCpus: row.from_cpus === null ? null : Number(row.from_cpus),
    toSize: row.to_size,
    toMemoryBytes: row.to_memory_bytes === null ? null : integer(row.to_memory_bytes),
    toCpus: row.to_cpus === null ? null : Number(row.to_cpus),
  };
}

/** A decision as the API shows it (GET /autosize, the page). */
export function publicDecision(decision: Decision) {
  return {
    decided_at: new Date(decision.decidedAt).toISOString(),
    container: decision.container,
    compose_project: decision.composeProject,
    compose_service: decision.composeService,
    direction: decision.direction,
    result: decision.result,
    reason: decision.reason,
    trigger: decision.trigger,
    from: { memory_bytes: decision.fromMemoryBytes, cpus: decision.fromCpus },
    to: decision.toSize === null ? null : { size: decision.toSize, memory_bytes: decision.toMemoryBytes, cpus: decision.toCpus },
  };
}

export class AutosizeStore {
  constructor(private readonly db: Knex) {}

  async record(decision: Decision): Promise<void> {
    await this.db(TABLE).insert({
      decided_at: decision.decidedAt,
      host: decision.host,
      container: decision.container,
      compose_project: decision.composeProject,
      compose_service: decision.composeService,
      direction: decision.direction,
      result: decision.result,
      reason: decision.reason.slice(0, 1024),
      trigger: decision.trigger.slice(0, 255),
      from_memory_bytes: decision.fromMemoryBytes,
      from_cpus: decision.fromCpus,
      to_size: decision.toSize,
      to_memory_bytes: decision.toMemoryBytes,
      to_cpus: decision.toCpus,
    });
  }

  /** Removes the decisions older than `before` (the statistics retention); the number removed. */
  async prune(before: number): Promise<number> {
    return this.db(TABLE).where('decided_at', '<', before).delete();
  }

  /** Newest first. */
  async list(limit: number, container?: string): Promise<Array<Decision & { id: number }>> {
    const query = this.db<DecisionRow>(TABLE).select('*').orderBy([{ column: 'decided_at', order: 'desc' }, { column: 'id', order: 'desc' }]).limit(limit);
    if (container !== undefined) void query.where('container', container);
    return (await query).map(fromRow);
  }

  /**
   * The changes of a container that the cooldown and the daily limit look at: applied ones, and failed ones,
   * whose update may have reached the engine (a timeout, limits read back wrong).
   */
  async recentChanges(host: string, container: string, now: number): Promise<RecentChanges> {
    const changes = () => this.db(TABLE).where({ host, container }).whereIn('result', CHANGE_RESULTS);
    const rows: Array<{ decided_at: number | string }> = await changes().select('decided_at').andWhere('decided_at', '>', now - DAY_MS);
    const last = await changes().max({ at: 'decided_at' }).first() as { at: number | string | null } | undefined;
    return { lastAppliedAt: last?.at === null || last?.at === undefined ? undefined : integer(last.at), appliedInLastDay: rows.length };
  }
}
