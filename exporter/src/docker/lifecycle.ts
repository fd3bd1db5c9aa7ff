// Restarts, OOM kills and the last exit of each container, from the engine's events and inspections
// (pure). The counts live as long as the container does, across its restarts, whose new cgroups start
// every kernel counter at 0: a kill of PID 1 ends the container's PID namespace and any sidecar in it, but
// not this count.

export type ExitReason = 'oom_killed' | 'error' | 'completed';

export interface ContainerHistory {
  restarts: number;
  oomKills: number;
  /** An `oom` event came since the last start: a following die with OOMKilled is that same kill. */
  oomSinceStart: boolean;
  /** A die came since the last start: the next start is a restart. */
  diedSinceStart: boolean;
  lastExit?: { code: number; reason: ExitReason };
}

export function exitReason(code: number, oomKilled: boolean): ExitReason {
  if (oomKilled) return 'oom_killed';
  return code === 0 ? 'completed' : 'error';
}

/**
 * The history of a container first seen by an inspection (at start-up, or when it is created), from its
 * State.Status: a created container has not run yet; an exited or dead one has exited; one running after
 * an OOM kill was restarted since.
 */
export function historyFromInspection(restartCount: number, status: string, oomKilled: boolean, exitCode: number): ContainerHistory {
  const exited = status === 'exited' || status === 'dead';
  const history: ContainerHistory = { restarts: restartCount, oomKills: oomKilled ? 1 : 0, oomSinceStart: false, diedSinceStart: exited };
  if (exited) history.lastExit = { code: exitCode, reason: exitReason(exitCode, oomKilled) };
  else if (oomKilled && status !== 'created') history.lastExit = { code: 137, reason: 'oom_killed' };
  return history;
}

export function onStart(history: ContainerHistory, restartCount: number): void {
  if (history.diedSinceStart) history.restarts += 1;
  // The engine's own count also covers starts that happened while the events stream was down.
  history.restarts = Math.max(history.restarts, restartCount);
  history.diedSinceStart = false;
  history.oomSinceStart = false;
}

export function onOom(history: ContainerHistory): void {
  history.oomKills += 1;
  history.oomSinceStart = true;
}

/** `oomKilled`: the engine's State.OOMKilled after the die, when the container could still be inspected. */
export function onDie(history: ContainerHistory, exitCode: number, oomKilled: boolean): void {
  if (oomKilled && !history.oomSinceStart) history.oomKills += 1;
  history.lastExit = { code: exitCode, reason: exitReason(exitCode, oomKilled || (history.oomSinceStart && exitCode === 137)) };
  history.diedSinceStart = true;
}
