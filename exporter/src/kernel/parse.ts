// Pure parsers for the kernel's cgroup and proc file formats. Each throws on text that is not of its format.

/** USER_HZ: the unit of /proc/stat and of utime/stime in /proc/<pid>/stat, 100 on every Linux architecture Node runs on. */
export const USER_HZ = 100;

export class FormatError extends Error {}

export interface ProcCgroupEntry {
  hierarchyId: number;
  /** v1 controllers (and `name=` entries); empty for the v2 line `0::PATH`. */
  controllers: string[];
  path: string;
}

/** `/proc/<pid>/cgroup`: `ID:CONTROLLERS:PATH` per line. */
export function parseProcCgroup(text: string): ProcCgroupEntry[] {
  const entries: ProcCgroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const match = /^(\d+):([^:]*):(\/.*)$/.exec(line);
    if (!match) throw new FormatError(`not a cgroup line: ${JSON.stringify(line.slice(0, 80))}`);
    entries.push({ hierarchyId: Number(match[1]), controllers: match[2] === '' ? [] : match[2]!.split(','), path: match[3]! });
  }
  if (entries.length === 0) throw new FormatError('no cgroup lines');
  return entries;
}

export interface Mount {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** `/proc/<pid>/mountinfo` (proc(5)): `ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS`. */
export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (fields.length < 10 || separator === -1 || fields.length < separator + 4) throw new FormatError(`not a mountinfo line: ${JSON.stringify(line.slice(0, 80))}`);
    mounts.push({
      root: unescapeMountField(fields[3]!),
      mountPoint: unescapeMountField(fields[4]!),
      fsType: fields[separator + 1]!,
      superOptions: fields[separator + 3]!.split(','),
    });
  }
  return mounts;
}

/**
 * The cgroup and cgroup2 mounts of a mountinfo text. Only their lines are parsed: a Docker host's init
 * process sees hundreds of overlay and bind mounts, one set per container.
 */
export function parseCgroupMounts(text: string): Mount[] {
  return parseMountinfo(text.split('\n').filter((line) => line.includes(' - cgroup')).join('\n'));
}

/** A file holding one integer (`memory.current`, `cpuacct.usage`, `pids.current`). */
export function parseInteger(text: string): number {
  const trimmed = text.trim();
  if (!/^-?\d+$/.test(trimmed)) throw new FormatError(`not an integer: ${JSON.stringify(trimmed.slice(0, 40))}`);
  return Number(trimmed);
}

/** `KEY VALUE` lines (`memory.stat`, `cpu.stat`, `memory.events`, `memory.oom_control`). */
/** An optional '-' and decimal digits only. */
function isDecimal(text: string): boolean {
  const first = text.charCodeAt(0) === 45 ? 1 : 0;
  if (text.length <= first) return false;
  for (let index = first; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

export function parseFlatKeyed(text: string): Map<string, number> {
  const values = new Map<string, number>();
  // Scanned by hand, not with a regular expression per line: memory.stat has 30-odd lines, read for every
  // container of a host at every scrape.
  for (let start = 0; start < text.length;) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    if (end > start) {
      const space = text.indexOf(' ', start);
      const digits = space === -1 || space >= end ? '' : text.slice(space + 1, end);
      if (space <= start || !isDecimal(digits)) {
        throw new FormatError(`not a KEY VALUE line: ${JSON.stringify(text.slice(start, Math.min(end, start + 80)))}`);
      }
      values.set(text.slice(start, space), Number(digits));
    }
    start = end + 1;
  }
  if (values.size === 0) throw new FormatError('empty key/value file');
  return values;
}

export function requireKey(values: Map<string, number>, key: string, file: string): number {
  const value = values.get(key);
  if (value === undefined) throw new FormatError(`${file} has no ${key}`);
  return value;
}

// cgroup v1 writes "unlimited" as LONG_MAX rounded down to the page size (9223372036854771712 on 4K pages);
// anything this large cannot be a real limit.
const V1_UNLIMITED_FLOOR = 2 ** 62;

/** `memory.limit_in_bytes` / `memory.soft_limit_in_bytes`: bytes, or null for unlimited. */
export function parseV1MemoryLimit(text: string): number | null {
  const value = parseInteger(text);
  return value >= V1_UNLIMITED_FLOOR || value < 0 ? null : value;
}

/** `memory.max` / `memory.high` / `memory.low`: bytes, or null for `max`. */
export function parseV2MemoryLimit(text: string): number | null {
  const trimmed = text.trim();
  return trimmed === 'max' ? null : parseInteger(trimmed);
}

/** `cpu.cfs_quota_us` and `cpu.cfs_period_us`: cores, or null for a quota of -1. */
export function parseV1CpuLimit(quotaText: string, periodText: string): number | null {
  const quota = parseInteger(quotaText);
  const period = parseInteger(periodText);
  if (quota < 0) return null;
  if (period <= 0) throw new FormatError(`cpu.cfs_period_us is ${period}`);
  return quota / period;
}

/** `cpu.max`: `QUOTA PERIOD` in cores, or null for `max PERIOD`. */
export function parseV2CpuMax(text: string): number | null {
  const match = /^(max|\d+) (\d+)$/.exec(text.trim());
  if (!match) throw new FormatError(`not a cpu.max value: ${JSON.stringify(text.trim().slice(0, 40))}`);
  if (match[1] === 'max') return null;
  const period = Number(match[2]);
  if (period <= 0) throw new FormatError(`cpu.max period is ${period}`);
  return Number(match[1]) / period;
}

export interface Pressure {
  /** Cumulative microseconds some tasks were stalled. */
  someTotalMicroseconds: number;
  /** Cumulative microseconds all tasks were stalled; absent for cpu on older kernels. */
  fullTotalMicroseconds?: number;
}

/** PSI files (`cpu.pressure`, `/proc/pressure/memory`): `some avg10=.. avg60=.. avg300=.. total=N` and `full ...`. */
export function parsePressure(text: string): Pressure {
  let some: number | undefined;
  let full: number | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const match = /^(some|full) avg10=\d+\.\d+ avg60=\d+\.\d+ avg300=\d+\.\d+ total=(\d+)$/.exec(line);
    if (!match) throw new FormatError(`not a pressure line: ${JSON.stringify(line.slice(0, 80))}`);
    if (match[1] === 'some') some = Number(match[2]);
    else full = Number(match[2]);
  }
  if (some === undefined) throw new FormatError('pressure file has no "some" line');
  return full === undefined ? { someTotalMicroseconds: some } : { someTotalMicroseconds: some, fullTotalMicroseconds: full };
}

/** `/proc/meminfo`: values in bytes by key (`MemTotal`, `MemAvailable`). */
export function parseMeminfo(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?$/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]) * (line.endsWith(' kB') ? 1024 : 1));
  }
  if (!values.has('MemTotal')) throw new FormatError('meminfo has no MemTotal');
  return values;
}

export interface HostCpu {
  /** Seconds of CPU time spent not idle, summed over CPUs. */
  busySeconds: number;
  cpuCount: number;
}

/** `/proc/stat`: the aggregate `cpu` line (USER_HZ ticks) and the count of `cpuN` lines. */
export function parseProcStat(text: string, ticksPerSecond: number): HostCpu {
  let busyTicks: number | undefined;
  let cpuCount = 0;
  for (const line of text.split('\n')) {
    if (/^cpu\d+ /.test(line)) cpuCount += 1;
    else if (line.startsWith('cpu ')) {
      const ticks = line.trim().split(/\s+/).slice(1).map(Number);
      if (ticks.length < 4 || ticks.some((tick) => !Number.isFinite(tick))) throw new FormatError('malformed cpu line in stat');
      // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
      const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
      busyTicks = user + nice + system + irq + softirq + steal;
    }
  }
  if (busyTicks === undefined || cpuCount === 0) throw new FormatError('stat has no cpu lines');
  return { busySeconds: busyTicks / ticksPerSecond, cpuCount };
}

/** `/proc/<pid>/status`: the `Threads:` count. */
export function parseThreadCount(statusText: string): number {
  const match = /^Threads:\s+(\d+)$/m.exec(statusText);
  if (!match) throw new FormatError('status has no Threads line');
  return Number(match[1]);
}

/** A list of numbers one per line (`cgroup.procs`, `tasks`). */
export function parseIdList(text: string): number[] {
  const ids: number[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (!/^\d+$/.test(line)) throw new FormatError(`not an id: ${JSON.stringify(line.slice(0, 40))}`);
    ids.push(Number(line));
  }
  return ids;
}

export interface ProcessStat {
  name: string;
  /** utime + stime: CPU time of the process's own threads, live and exited. */
  cpuTicks: number;
  /** cutime + cstime: CPU time of the children it has waited for. */
  childCpuTicks: number;
  residentPages: number;
}

/**
 * `/proc/<pid>/stat` (proc(5)): the command name (field 2, between the first '(' and the LAST ')', since the
 * name itself may hold spaces and parentheses), utime, stime, cutime, cstime (fields 14-17) and rss in pages
 * (field 24).
 */
export function parseProcessStat(text: string): ProcessStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open === -1 || close < open) throw new FormatError('stat has no (command name)');
  // Fields are single-space separated; find the ones needed without splitting the whole line (field 3 starts at close + 2).
  const starts: number[] = [];
  for (let index = close + 2, field = 3; field <= 24 && index < text.length; field += 1) {
    starts[field] = index;
    const next = text.indexOf(' ', index);
    if (next === -1) break;
    index = next + 1;
  }
  const field = (number: number) => {
    const start = starts[number];
    if (start === undefined) return Number.NaN;
    const end = text.indexOf(' ', start);
    return Number(text.slice(start, end === -1 ? text.length : end).trim());
  };
  const [utime, stime, cutime, cstime, residentPages] = [field(14), field(15), field(16), field(17), field(24)];
  if (![utime, stime, cutime, cstime, residentPages].every(Number.isInteger)) throw new FormatError('stat lacks utime, stime, cutime, cstime or rss');
  return { name: text.slice(open + 1, close), cpuTicks: utime + stime, childCpuTicks: cutime + cstime, residentPages };
}

const AT_NULL = 0;
const AT_PAGESZ = 6;

/** AT_PAGESZ from the auxiliary vector (/proc/self/auxv): (type, value) pairs of native words, ending with AT_NULL. */
export function parseAuxvPageSize(auxv: Uint8Array, wordBytes: 4 | 8, littleEndian: boolean): number | undefined {
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  const word = (offset: number) => (wordBytes === 8 ? Number(view.getBigUint64(offset, littleEndian)) : view.getUint32(offset, littleEndian));
  for (let offset = 0; offset + 2 * wordBytes <= auxv.byteLength; offset += 2 * wordBytes) {
    const type = word(offset);
    if (type === AT_NULL) break;
    if (type === AT_PAGESZ) return word(offset + wordBytes);
  }
  return undefined;
}

/** A resource limit of /proc/<pid>/limits: null for `unlimited`. */
export interface ResourceLimit { soft: number | null; hard: number | null }

/** The limits headroom watches: RLIMIT_NOFILE and RLIMIT_NPROC, by their names in /proc/<pid>/limits. */
export interface ProcessLimits { openFiles: ResourceLimit; processes: ResourceLimit }

function limitValue(text: string, line: string): number | null {
  if (text === 'unlimited') return null;
  if (!isDecimal(text)) throw new FormatError(`not a limit: ${JSON.stringify(line.slice(0, 80))}`);
  return Number(text);
}

/** The lines of the limits headroom reads: the name, then the soft and the hard limit. */
const LIMIT_LINES = {
  openFiles: { label: 'Max open files', pattern: /^Max open files +(\S+) +(\S+)/m },
  processes: { label: 'Max processes', pattern: /^Max processes +(\S+) +(\S+)/m },
} as const;

/** The soft and hard values of a line of /proc/<pid>/limits (proc(5): `%-25s %-20s %-20s %-10s`). */
function limitLine(text: string, name: keyof typeof LIMIT_LINES): ResourceLimit {
  const { label, pattern } = LIMIT_LINES[name];
  const match = pattern.exec(text);
  if (!match) throw new FormatError(`limits has no well-formed "${label}" line`);
  return { soft: limitValue(match[1]!, match[0]), hard: limitValue(match[2]!, match[0]) };
}

/** `/proc/<pid>/limits`: a header line, then one line per resource with its soft and hard limit. */
export function parseProcessLimits(text: string): ProcessLimits {
  if (!text.startsWith('Limit ')) throw new FormatError('limits does not start with its header');
  return { openFiles: limitLine(text, 'openFiles'), processes: limitLine(text, 'processes') };
}

/** The capabilities that exempt a process from RLIMIT_NPROC (kernel/fork.c: copy_process). */
const CAP_SYS_ADMIN = 21n;
const CAP_SYS_RESOURCE = 24n;

export interface ProcessIdentity {
  /** The real user id: the one RLIMIT_NPROC counts the process under. */
  realUid: number;
  threads: number;
  /** Holds CAP_SYS_ADMIN or CAP_SYS_RESOURCE in its effective set. */
  exemptByCapability: boolean;
}

function statusField(text: string, name: string): string {
  const key = `${name}:`;
  const at = text.startsWith(key) ? 0 : text.indexOf(`\n${key}`) + 1;
  if (at === 0 && !text.startsWith(key)) throw new FormatError(`status has no ${name} line`);
  const end = text.indexOf('\n', at);
  return text.slice(at + key.length, end === -1 ? text.length : end).trim();
}

/** `/proc/<pid>/status`: the real uid (first of `Uid:`), `Threads:` and the effective capabilities (`CapEff:`, hex). */
export function parseProcessIdentity(text: string): ProcessIdentity {
  const uid = statusField(text, 'Uid').split(/\s+/)[0] ?? '';
  const threads = statusField(text, 'Threads');
  const capabilities = statusField(text, 'CapEff');
  if (!isDecimal(uid) || !isDecimal(threads) || !/^[0-9a-f]{1,16}$/.test(capabilities)) throw new FormatError('status has a malformed Uid, Threads or CapEff line');
  const effective = BigInt(`0x${capabilities}`);
  const holds = (capability: bigint) => ((effective >> capability) & 1n) === 1n;
  return { realUid: Number(uid), threads: Number(threads), exemptByCapability: holds(CAP_SYS_ADMIN) || holds(CAP_SYS_RESOURCE) };
}

/** `pids.max`: the number of tasks, or null for `max`. */
export function parsePidsMax(text: string): number | null {
  const trimmed = text.trim();
  return trimmed === 'max' ? null : parseInteger(trimmed);
}
