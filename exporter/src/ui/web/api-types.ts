// The JSON of the page's API, version 1 (docs/page.md): what the server sends and the page reads. Types only.

export type LevelName = 'info' | 'warning' | 'critical' | 'danger';
export type SizeName = 'small' | 'medium' | 'large' | 'custom';

export interface LevelInfo {
  name: LevelName;
  /** The colour the dashboards use for it. */
  color: string;
  /** The boundary in percent of the limit (null for info) and whether reaching it counts. */
  percent: number | null;
  inclusive: boolean;
}

export interface TierInfo { name: SizeName; memory_limit_bytes: number; cpu_limit_cores: number; memory_reservation_bytes: number; cpu_reservation_cores: number }

export interface Recommended {
  size: SizeName;
  /** Where its figures come from: the in-process history or Prometheus's. */
  source: 'history' | 'prometheus';
  confidence: 'ok' | 'low';
  /** Why, in words: the need against each tier, OOM kills, throttling, too little history. */
  reason: string;
  env: Record<string, string>;
}

/** An automatic-sizing decision, as GET /autosize shows it. */
export interface Decision {
  decided_at: string;
  container: string;
  compose_project: string;
  compose_service: string;
  direction: 'up' | 'down';
  result: 'applied' | 'refused' | 'failed';
  reason: string;
  trigger: string;
  from: { memory_bytes: number; cpus: number | null };
  to: { size: string; memory_bytes: number | null; cpus: number | null } | null;
}

export interface Row {
  key: string;
  name: string;
  kind: 'process' | 'cgroup' | 'container';
  compose_project: string;
  compose_service: string;
  /** The engine's status (host mode), `running` for the sidecar. */
  status: string;
  level: LevelName;
  memory: { working_set_bytes: number | null; limit_bytes: number | null; limit_enforced: boolean; reservation_bytes: number | null; percent: number | null; level: LevelName };
  cpu: { percent: number | null; used_cores: number | null; limit_cores: number | null; limit_enforced: boolean; reservation_cores: number | null; throttled_share: number | null; level: LevelName };
  /** The other limits the row's level counts (fds, pids, nproc), each where the target has a figure for it. */
  limits: Array<{ resource: string; percent: number; level: LevelName }>;
  /** total: since the container was created (host mode) or in the cgroup; recent: within the page's history. */
  oom_kills: { total: number | null; recent: number };
  restarts: { total: number | null; recent: number };
  last_exit: { code: number; reason: 'oom_killed' | 'error' | 'completed' } | null;
  size: { now: SizeName | 'unlimited' | null; recommended: Recommended | null; not_recommended_because: string | null };
  last_decision: Decision | null;
}

export interface Overview {
  api_version: 1;
  generated_at: string;
  /** When the scrape the figures come from ended. */
  scraped_at: string;
  mode: 'sidecar' | 'host';
  refresh_seconds: number;
  history: { span_seconds: number; step_seconds: number; targets: number; bytes: number };
  /** Whether the detail's longer ranges and 7-day recommendations come from Prometheus. */
  prometheus: boolean;
  levels: LevelInfo[];
  tiers: TierInfo[];
  containers: Row[];
}

export type MarkerKind = 'oom_kill' | 'restart' | 'sizing';

export interface Marker { t: number; kind: MarkerKind; text: string }

/** Columns of equal length; null where there is no figure. */
export interface Series {
  t: number[];
  memory_working_set_bytes: Array<number | null>;
  memory_limit_bytes: Array<number | null>;
  memory_reservation_bytes: Array<number | null>;
  cpu_used_cores: Array<number | null>;
  cpu_limit_cores: Array<number | null>;
  cpu_throttled_share: Array<number | null>;
}

export interface Detail {
  api_version: 1;
  generated_at: string;
  container: Row;
  range: { name: string; seconds: number; step_seconds: number; source: 'history' | 'prometheus' };
  /** The ranges this server can answer. */
  ranges: string[];
  series: Series;
  markers: Marker[];
  /** docker-compose lines for the recommended size (empty when there is none). */
  compose_snippet: string;
  levels: LevelInfo[];
}

export interface ApiError { error: string }
