// Network namespaces for what the tests run apart from the host's network: a private Docker engine (and,
// with several, the nodes of a swarm). Each has its own interfaces, routes, iptables, sysctls such as
// net.ipv4.ip_forward and net.bridge.bridge-nf-call-iptables, and its own loopback. It is linked to the host
// by a veth pair with addresses the project chose, HOST/30 on the host's end (hdv<N>) and NS/30 inside
// (eth0), out of 10.231.0.0/16. There is no default route inside: the namespace reaches the host's end and
// nothing else, and the host reaches the namespace's address.
//
// Each namespace is claimed by a record directory, <tmp>/hdns-<N>/owner ("PID START_TIME", ownership.ts),
// made before anything else: N gives the namespace's name, its interface's name and its addresses, so two
// runs never pick the same, and a later run removes a namespace whose owner died (sweepAbandonedNamespaces).
// Removing one deletes exactly the interface and the namespace its record names.
//
// `ip netns add` makes /run/netns a mount point of its own the first time any program uses it: that mount
// is iproute2's, shared with every other namespace on the host, and stays.
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdirSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ownerGone, ownerRecord, readIfThere } from './ownership.js';

const RECORDS_BASE = os.tmpdir();
const RECORD_PREFIX = 'hdns-';
/** 10.231.0.0/16 in /30 links: 16384 of them. */
const LINKS = 16384;
const PREFIX_LENGTH = 30;

export interface NetworkNamespace {
  /** The namespace's name (`ip netns`), hdns<N>. */
  name: string;
  /** Its file, for `nsenter --net=`. */
  path: string;
  /** The address inside (eth0): the host reaches what listens on it. */
  address: string;
  /** The host's end of the link (hdv<N>): what the namespace reaches of the host. */
  hostAddress: string;
  hostInterface: string;
  prefixLength: number;
  /** The record directory that claims N. */
  record: string;
}

function ip(args: string[]): { ok: boolean; output: string } {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: result.status === 0, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error?.message ?? ''}`.trim() };
}

function mustIp(args: string[]): void {
  const { ok, output } = ip(args);
  if (!ok) throw new Error(`ip ${args.join(' ')}: ${output}`);
}

/**
 * The index of this process's network namespace's interface called name, or undefined when there is none.
 * From netlink (`ip`), not /sys/class/net, which shows the namespace /sys was mounted in.
 */
export function interfaceIndex(name: string): string | undefined {
  const { ok, output } = ip(['-j', 'link', 'show', 'dev', name]);
  return ok ? String((JSON.parse(output) as Array<{ ifindex: number }>)[0]?.ifindex) : undefined;
}

/** Everything about link N, from N alone. */
function namespaceOf(index: number): NetworkNamespace {
  const base = (10 << 24) + (231 << 16) + index * 4;
  const dotted = (value: number) => [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
  const name = `hdns${index}`;
  return {
    name,
    path: `/run/netns/${name}`,
    hostAddress: dotted(base + 1),
    address: dotted(base + 2),
    hostInterface: `hdv${index}`,
    prefixLength: PREFIX_LENGTH,
    record: path.join(RECORDS_BASE, `${RECORD_PREFIX}${index}`),
  };
}

function toNumber(address: string): number {
  return address.split('.').reduce((value, part) => value * 256 + Number(part), 0);
}

/** IPv4 prefixes the host already uses (its addresses' networks and its routes, the default route aside). */
function prefixesInUse(): Array<[number, number]> {
  const prefixes: Array<[number, number]> = [];
  const routes = JSON.parse(ip(['-j', '-4', 'route', 'show', 'table', 'all']).output || '[]') as Array<{ dst: string }>;
  for (const { dst } of routes) {
    const match = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(dst);
    if (match) prefixes.push([toNumber(match[1]!), Number(match[2] ?? 32)]);
  }
  return prefixes;
}

function overlaps(a: number, aLength: number, b: number, bLength: number): boolean {
  const length = Math.min(aLength, bLength);
  const mask = length === 0 ? 0 : (~0 << (32 - length)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}

/**
 * A new namespace linked to the host. Synchronous (a few `ip` calls), so that the same code can take it
 * down on the way out of a process.
 */
export function createNamespace(): NetworkNamespace {
  sweepAbandonedNamespaces();
  const inUse = prefixesInUse();
  for (let attempt = 0; attempt < 64; attempt += 1) {
    const namespace = namespaceOf(randomInt(LINKS));
    const network = toNumber(namespace.hostAddress) - 1;
    if (inUse.some(([prefix, length]) => overlaps(prefix, length, network, PREFIX_LENGTH))) continue;
    try {
      mkdirSync(namespace.record);
    } catch {
      continue; // claimed by another run
    }
    writeFileSync(path.join(namespace.record, 'owner'), ownerRecord());
    // A namespace of that name that no record claims is someone else's: leave it, pick another N.
    if (!ip(['netns', 'add', namespace.name]).ok) {
      rmSync(namespace.record, { recursive: true, force: true });
      continue;
    }
    try {
      mustIp(['link', 'add', namespace.hostInterface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', namespace.name]);
      mustIp(['address', 'add', `${namespace.hostAddress}/${PREFIX_LENGTH}`, 'dev', namespace.hostInterface]);
      mustIp(['link', 'set', namespace.hostInterface, 'up']);
      mustIp(['-n', namespace.name, 'address', 'add', `${namespace.address}/${PREFIX_LENGTH}`, 'dev', 'eth0']);
      mustIp(['-n', namespace.name, 'link', 'set', 'eth0', 'up']);
      mustIp(['-n', namespace.name, 'link', 'set', 'lo', 'up']);
    } catch (error) {
      removeNamespace(namespace);
      throw error;
    }
    return namespace;
  }
  throw new Error('no free /30 in 10.231.0.0/16 for a network namespace (64 tries): the host routes most of it');
}

/** The namespace's inode, which /proc/<pid>/ns/net names for every process in it. */
function namespaceInode(namespace: NetworkNamespace): number | undefined {
  try { return statSync(namespace.path).ino; } catch { return undefined; }
}

/** Pids of the processes in the namespace (its daemons; not the containers, which have namespaces of their own). */
export function processesIn(namespace: NetworkNamespace): number[] {
  const inode = namespaceInode(namespace);
  if (inode === undefined) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readlinkSync(`/proc/${entry}/ns/net`) === `net:[${inode}]`) pids.push(Number(entry));
    } catch { /* gone, or not ours to read */ }
  }
  return pids;
}

/**
 * Deletes the host's end of the link (its peer goes with it) and the namespace's name, then the record.
 * The namespace itself ends once no process is left in it: stop those first. Returns what could not be done.
 */
export function removeNamespace(namespace: NetworkNamespace): string[] {
  const problems: string[] = [];
  if (interfaceIndex(namespace.hostInterface) !== undefined) {
    const { ok, output } = ip(['link', 'delete', namespace.hostInterface]);
    if (!ok) problems.push(`ip link delete ${namespace.hostInterface}: ${output}`);
  }
  if (exists(namespace.path)) {
    const { ok, output } = ip(['netns', 'delete', namespace.name]);
    if (!ok) problems.push(`ip netns delete ${namespace.name}: ${output}`);
  }
  if (problems.length === 0) rmSync(namespace.record, { recursive: true, force: true });
  return problems;
}

function exists(file: string): boolean {
  try { statSync(file); return true; } catch { return false; }
}

/** The namespace a record directory claims, if it is one (hdns-<N>). */
export function namespaceOfRecord(record: string): NetworkNamespace | undefined {
  const match = new RegExp(`^${RECORD_PREFIX}(\\d+)$`).exec(path.basename(record));
  return match && Number(match[1]) < LINKS ? namespaceOf(Number(match[1])) : undefined;
}

/** Namespaces whose owner died: their processes are killed and they are removed as their owner would have. */
export function sweepAbandonedNamespaces(): void {
  for (const entry of readdirSync(RECORDS_BASE)) {
    const namespace = namespaceOfRecord(path.join(RECORDS_BASE, entry));
    if (!namespace) continue;
    const owner = readIfThere(path.join(namespace.record, 'owner'));
    if (owner === undefined || !ownerGone(owner)) continue;
    process.stderr.write(`[netns] removing ${namespace.name}, left behind by process ${owner.trim().split(' ')[0]}\n`);
    for (const pid of processesIn(namespace)) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    const problems = removeNamespace(namespace);
    if (problems.length > 0) process.stderr.write(`[netns] ${problems.join('\n')}\n`);
  }
}
