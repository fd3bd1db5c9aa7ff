// The one write the gate passes (pure): a container update that sets memory and CPU limits only, written as
// integers, within the same bounds automatic sizing keeps to: at least Docker's floor (6 MiB, 0.01 CPU), at
// most the ceiling tier (--gate.max-tier, as --autosize.max-tier) and the host's memory and CPUs.
// No zod here: the gate must start within a small descriptor limit, and zod loads every locale it has.
import { AUTOSIZE_LABEL } from '../docker/labels.js';
import { DEFAULT_CPU_PERIOD, formatCpus, formatMemorySize, MIN_CPU_CORES, MIN_MEMORY_BYTES } from '../sizes.js';
import type { Tier } from '../thresholds.js';

/** The resource fields an update may set: limits only (no restart policy, devices, block I/O or pids). */
export const UPDATE_FIELDS = ['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuQuota', 'CpuPeriod'] as const;
export type UpdateField = (typeof UPDATE_FIELDS)[number];
export type UpdateFields = Partial<Record<UpdateField, number>>;

/** A body larger than this is no limits-only update. */
export const MAX_UPDATE_BYTES = 4096;

/** The kernel's CFS bounds (cpu.cfs_period_us, cpu.cfs_quota_us), which Docker checks too. */
const MIN_CPU_PERIOD = 1000;
const MAX_CPU_PERIOD = 1_000_000;
const MIN_CPU_QUOTA = 1000;

export interface UpdateBounds {
  minMemoryBytes: number;
  maxMemoryBytes: number;
  minCpus: number;
  maxCpus: number;
  /** Where the maxima come from, for refusals. */
  ceiling: string;
}

/** The host as the engine's GET /info gives it. */
export interface EngineHost { memoryBytes: number; cpus: number }

/** The container's CPU settings the update's CPU fields combine with (HostConfig's). */
export interface CurrentCpu { NanoCpus: number; CpuQuota: number; CpuPeriod: number }

/** What the gate takes from a container's inspection: its full id, the opt-in label, its CPU settings. */
export interface CheckedContainer { id: string; optedIn: boolean; cpu: CurrentCpu }

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const isInteger = (value: unknown): value is number => Number.isSafeInteger(value);

/** GET /containers/{id}/json's answer as the gate needs it; undefined when it is not one. */
export function containerOfAnswer(answer: unknown): CheckedContainer | undefined {
  if (!isRecord(answer) || !isRecord(answer.Config) || !isRecord(answer.HostConfig)) return undefined;
  const { Id } = answer;
  const labels = answer.Config.Labels;
  const { NanoCpus, CpuQuota, CpuPeriod } = answer.HostConfig;
  if (typeof Id !== 'string' || !/^[0-9a-f]{64}$/.test(Id) || !isInteger(NanoCpus) || !isInteger(CpuQuota) || !isInteger(CpuPeriod)) return undefined;
  return { id: Id, optedIn: isRecord(labels) && labels[AUTOSIZE_LABEL] === 'true', cpu: { NanoCpus, CpuQuota, CpuPeriod } };
}

/** GET /info's answer as the host's memory and CPUs; undefined when it is not one. */
export function hostOfInfo(answer: unknown): EngineHost | undefined {
  if (!isRecord(answer) || !isInteger(answer.MemTotal) || !isInteger(answer.NCPU) || answer.MemTotal <= 0 || answer.NCPU <= 0) return undefined;
  return { memoryBytes: answer.MemTotal, cpus: answer.NCPU };
}

/** At least Docker's floor; at most the ceiling tier's limits and the host's memory and CPUs, whichever is lower. */
export function updateBounds(maxTier: Tier, host: EngineHost): UpdateBounds {
  return {
    minMemoryBytes: MIN_MEMORY_BYTES,
    maxMemoryBytes: Math.min(maxTier.memoryLimitBytes, host.memoryBytes),
    minCpus: MIN_CPU_CORES,
    maxCpus: Math.min(maxTier.cpuLimitCores, host.cpus),
    ceiling: `the ${maxTier.name} tier (${formatMemorySize(maxTier.memoryLimitBytes)}, ${formatCpus(maxTier.cpuLimitCores)} CPUs; --gate.max-tier) and the host (${formatMemorySize(host.memoryBytes)}, ${host.cpus} CPUs)`,
  };
}

const WHITESPACE = /[ \t\n\r]*/y;
const KEY = /"([A-Za-z]{1,40})"/y;
const COLON = /[ \t\n\r]*:[ \t\n\r]*/y;
/** A JSON number token, whatever its form; only the integer form is accepted. */
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

function sticky(pattern: RegExp, text: string, at: number): RegExpExecArray | null {
  pattern.lastIndex = at;
  return pattern.exec(text);
}

/**
 * The fields of an update body, or why it is not a limits-only update: a flat JSON object of known fields
 * whose values are written as integers (`1e7` and `7000000.0` are refused from the text: JSON.parse would
 * make integers of both), each once.
 */
export function parseUpdateBody(text: string): { fields: UpdateFields } | { problem: string } {
  const fields: UpdateFields = {};
  let at = sticky(WHITESPACE, text, 0)![0].length;
  if (text[at] !== '{') return { problem: 'the body is not a JSON object' };
  at += 1;
  at += sticky(WHITESPACE, text, at)![0].length;
  if (text[at] === '}') return { problem: 'the body sets nothing' };
  for (;;) {
    const key = sticky(KEY, text, at);
    if (!key) return { problem: `not a field name the gate knows at offset ${at}` };
    const name = key[1]!;
    if (!(UPDATE_FIELDS as readonly string[]).includes(name)) return { problem: `${name} is not a limit the gate passes (only ${UPDATE_FIELDS.join(', ')})` };
    if (name in fields) return { problem: `${name} is given twice` };
    at += key[0].length;
    const colon = sticky(COLON, text, at);
    if (!colon) return { problem: `no ':' after ${name}` };
    at += colon[0].length;
    const number = sticky(NUMBER, text, at);
    if (!number) return { problem: `${name}: not a number` };
    if (number[1] !== undefined || number[2] !== undefined) return { problem: `${name}: ${number[0]} is not written as an integer` };
    const value = Number(number[0]);
    if (!Number.isSafeInteger(value)) return { problem: `${name}: ${number[0]} is out of range` };
    fields[name as UpdateField] = value;
    at += number[0].length;
    at += sticky(WHITESPACE, text, at)![0].length;
    if (text[at] === ',') {
      at += 1;
      at += sticky(WHITESPACE, text, at)![0].length;
      continue;
    }
    if (text[at] !== '}') return { problem: `${name}: not a number` };
    at += 1;
    break;
  }
  at += sticky(WHITESPACE, text, at)![0].length;
  if (at !== text.length) return { problem: 'something follows the object' };
  return { fields };
}

function memoryText(bytes: number): string {
  return `${bytes} (${formatMemorySize(bytes)})`;
}

/**
 * Why the update is refused, or undefined when it passes: no limit removed or set under the floor, none over
 * the ceiling. A CPU quota is judged with the period it will run under (the body's, else the container's),
 * and a period alone with the quota the container has.
 */
export function updateRefusal(fields: UpdateFields, current: CurrentCpu, bounds: UpdateBounds): string | undefined {
  const { Memory, MemorySwap, MemoryReservation, NanoCpus, CpuQuota, CpuPeriod } = fields;
  const memoryRange = `between ${formatMemorySize(bounds.minMemoryBytes)} and ${formatMemorySize(bounds.maxMemoryBytes)}, the ceiling of ${bounds.ceiling}`;
  if (Memory !== undefined && (Memory < bounds.minMemoryBytes || Memory > bounds.maxMemoryBytes)) return `Memory ${memoryText(Memory)} is not ${memoryRange}`;
  if (MemoryReservation !== undefined && (MemoryReservation < 0 || MemoryReservation > bounds.maxMemoryBytes)) return `MemoryReservation ${memoryText(MemoryReservation)} is not between 0 and ${formatMemorySize(bounds.maxMemoryBytes)}`;
  // Memory plus swap: -1 (unlimited swap) or at most as much swap again as the largest memory limit.
  if (MemorySwap !== undefined && MemorySwap !== -1) {
    if (MemorySwap < bounds.minMemoryBytes || MemorySwap > 2 * bounds.maxMemoryBytes) return `MemorySwap ${memoryText(MemorySwap)} is neither -1 nor between ${formatMemorySize(bounds.minMemoryBytes)} and twice ${formatMemorySize(bounds.maxMemoryBytes)}`;
    if (Memory !== undefined && MemorySwap < Memory) return `MemorySwap ${memoryText(MemorySwap)} is under Memory ${memoryText(Memory)}`;
  }
  const cpuRange = `between ${formatCpus(bounds.minCpus)} and ${formatCpus(bounds.maxCpus)} CPUs, the ceiling of ${bounds.ceiling}`;
  const quotaOrPeriod = CpuQuota !== undefined || CpuPeriod !== undefined;
  if (NanoCpus !== undefined) {
    if (quotaOrPeriod) return 'NanoCpus goes with neither CpuQuota nor CpuPeriod';
    if (current.CpuQuota > 0) return 'the container\'s CPU limit is set as CpuQuota: NanoCpus does not go with it';
    const cpus = NanoCpus / 1e9;
    if (cpus < bounds.minCpus || cpus > bounds.maxCpus) return `NanoCpus ${NanoCpus} (${cpus} CPUs) is not ${cpuRange}`;
  }
  if (quotaOrPeriod) {
    if (NanoCpus === undefined && current.NanoCpus > 0) return 'the container\'s CPU limit is set as NanoCpus: CpuQuota and CpuPeriod do not go with it';
    const period = CpuPeriod ?? (current.CpuPeriod || DEFAULT_CPU_PERIOD);
    if (CpuPeriod !== undefined && (CpuPeriod < MIN_CPU_PERIOD || CpuPeriod > MAX_CPU_PERIOD)) return `CpuPeriod ${CpuPeriod} is not between ${MIN_CPU_PERIOD} and ${MAX_CPU_PERIOD} µs`;
    if (CpuQuota !== undefined && CpuQuota < MIN_CPU_QUOTA) return `CpuQuota ${CpuQuota} is under ${MIN_CPU_QUOTA} µs (-1 would remove the limit)`;
    const quota = CpuQuota ?? current.CpuQuota;
    if (quota > 0) {
      const cpus = quota / period;
      if (cpus < bounds.minCpus || cpus > bounds.maxCpus) return `CpuQuota ${quota} over CpuPeriod ${period} (${cpus} CPUs) is not ${cpuRange}`;
    }
  }
  return undefined;
}

/** The body the gate sends the engine: the fields it checked, written again by the gate. */
export function updateBodyText(fields: UpdateFields): string {
  return JSON.stringify(Object.fromEntries(UPDATE_FIELDS.filter((name) => fields[name] !== undefined).map((name) => [name, fields[name]])));
}
