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
// A LAN (createLan) is several namespaces on one network, as the nodes of a swarm need: a switch namespace
// holding a bridge, the host linked to it by one veth pair (hdl<M> on the host, HOST/28), and each node a
// namespace whose eth0 (NODE/28) is a veth pair into that bridge. The bridge lives in the switch namespace,
// not the host's, so the host's iptables (FORWARD's policy DROP where an engine was installed, with
// net.bridge.bridge-nf-call-iptables=1) never see the traffic between nodes; all the host gets is hdl<M>.
// LANs take their /28s from 10.231.128.0/17, single links their /30s from 10.231.0.0/17: two runs that
// check the host's routes at the same moment cannot pick overlapping blocks. A LAN is claimed by
// <tmp>/hdlan-<M>/owner; removing it deletes hdl<M> and the namespaces its record names (the veth pairs
// inside go with them).
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
/** 10.231.0.0/17 in /30 links: 8192 of them. */
const LINKS = 8192;
const PREFIX_LENGTH = 30;
const LAN_RECORD_PREFIX = 'hdlan-';
/** 10.231.128.0/17 in /28 LANs: 2048 of them, each the host's end, up to 13 nodes, and a broadcast address. */
const LANS = 2048;
const LAN_PREFIX_LENGTH = 28;
export const LAN_MAX_NODES = 13;

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

const dotted = (value: number) => [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');

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
/**
 * Picks a block no route of the host overlaps and claims it by making its record directory (with the owner
 * record) and its namespaces; undefined after 64 tries. A namespace of a picked name that no record claims
 * is someone else's: that block is left and another picked.
 */
function claim<T extends { record: string }>(count: number, of: (index: number) => T, network: (block: T) => number, prefixLength: number, namespaces: (block: T) => string[]): T | undefined {
  const inUse = prefixesInUse();
  for (let attempt = 0; attempt < 64; attempt += 1) {
    const block = of(randomInt(count));
    if (inUse.some(([prefix, length]) => overlaps(prefix, length, network(block), prefixLength))) continue;
    try {
      mkdirSync(block.record);
    } catch {
      continue; // claimed by another run
    }
    writeFileSync(path.join(block.record, 'owner'), ownerRecord());
    const added: string[] = [];
    for (const name of namespaces(block)) {
      if (!ip(['netns', 'add', name]).ok) break;
      added.push(name);
    }
    if (added.length === namespaces(block).length) return block;
    for (const name of added) ip(['netns', 'delete', name]);
    rmSync(block.record, { recursive: true, force: true });
  }
  return undefined;
}

export function createNamespace(): NetworkNamespace {
  sweepAbandonedNamespaces();
  const namespace = claim(LINKS, namespaceOf, (block) => toNumber(block.hostAddress) - 1, PREFIX_LENGTH, (block) => [block.name]);
  if (namespace) {
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
  throw new Error('no free /30 in 10.231.0.0/17 for a network namespace (64 tries): the host routes most of it');
}

/** The namespace's inode, which /proc/<pid>/ns/net names for every process in it. */
function namespaceInode(namespace: Pick<NetworkNamespace, 'path'>): number | undefined {
  try { return statSync(namespace.path).ino; } catch { return undefined; }
}

/** Pids of the processes in the namespace (its daemons; not the containers, which have namespaces of their own). */
export function processesIn(namespace: Pick<NetworkNamespace, 'path'>): number[] {
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

export interface Lan {
  /** hdl<M>: the host's interface, and the prefix of the namespaces' names. */
  name: string;
  /** The switch namespace, which holds the bridge. */
  switchNamespace: string;
  /** The host's end (hdl<M>): what the nodes reach of the host (a registry, a build proxy). */
  hostAddress: string;
  hostInterface: string;
  prefixLength: number;
  /** The nodes' namespaces: each one's address is on the LAN, its hostAddress the host's end. */
  nodes: NetworkNamespace[];
  record: string;
}

/** Everything about LAN M with so many nodes, from M and the count alone. */
function lanOf(index: number, nodeCount: number): Lan {
  const base = (10 << 24) + (231 << 16) + (1 << 15) + index * 16;
  const name = `hdl${index}`;
  const record = path.join(RECORDS_BASE, `${LAN_RECORD_PREFIX}${index}`);
  const hostAddress = dotted(base + 1);
  const nodes = Array.from({ length: nodeCount }, (_, node): NetworkNamespace => ({
    name: `${name}n${node + 1}`,
    path: `/run/netns/${name}n${node + 1}`,
    address: dotted(base + 2 + node),
    hostAddress,
    hostInterface: name,
    prefixLength: LAN_PREFIX_LENGTH,
    record,
  }));
  return { name, switchNamespace: `${name}s`, hostAddress, hostInterface: name, prefixLength: LAN_PREFIX_LENGTH, nodes, record };
}

const lanNamespaces = (lan: Lan) => [lan.switchNamespace, ...lan.nodes.map((node) => node.name)];

/**
 * nodeCount namespaces on one network with the host (see the top). Synchronous, as createNamespace.
 * Each node's NetworkNamespace can be given to startEngine (EngineOptions.namespace); the LAN outlives them
 * and goes with removeLan.
 */
export function createLan(nodeCount: number): Lan {
  if (!Number.isInteger(nodeCount) || nodeCount < 1 || nodeCount > LAN_MAX_NODES) throw new Error(`a LAN has 1 to ${LAN_MAX_NODES} nodes, not ${nodeCount}`);
  sweepAbandonedNamespaces();
  const lan = claim(LANS, (index) => lanOf(index, nodeCount), (block) => toNumber(block.hostAddress) - 1, LAN_PREFIX_LENGTH, lanNamespaces);
  if (!lan) throw new Error('no free /28 in 10.231.128.0/17 for a LAN (64 tries): the host routes most of it');
  writeFileSync(path.join(lan.record, 'nodes'), String(nodeCount));
  const inSwitch = (args: string[]) => mustIp(['-n', lan.switchNamespace, ...args]);
  try {
    inSwitch(['link', 'add', 'br0', 'type', 'bridge']);
    inSwitch(['link', 'set', 'br0', 'up']);
    mustIp(['link', 'add', lan.hostInterface, 'type', 'veth', 'peer', 'name', 'uplink', 'netns', lan.switchNamespace]);
    mustIp(['address', 'add', `${lan.hostAddress}/${LAN_PREFIX_LENGTH}`, 'dev', lan.hostInterface]);
    mustIp(['link', 'set', lan.hostInterface, 'up']);
    inSwitch(['link', 'set', 'uplink', 'master', 'br0', 'up']);
    lan.nodes.forEach((node, index) => {
      const port = `n${index + 1}`;
      inSwitch(['link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.name]);
      inSwitch(['link', 'set', port, 'master', 'br0', 'up']);
      mustIp(['-n', node.name, 'address', 'add', `${node.address}/${LAN_PREFIX_LENGTH}`, 'dev', 'eth0']);
      mustIp(['-n', node.name, 'link', 'set', 'eth0', 'up']);
      mustIp(['-n', node.name, 'link', 'set', 'lo', 'up']);
    });
  } catch (error) {
    removeLan(lan);
    throw error;
  }
  lansOfThisProcess.add(lan);
  if (lansOfThisProcess.size === 1) process.once('exit', removeLansOfThisProcess);
  return lan;
}

/** LANs this process made and has not removed: they go on its way out (after its engines, on a signal). */
const lansOfThisProcess = new Set<Lan>();

function removeLansOfThisProcess(): void {
  for (const lan of lansOfThisProcess) removeLan(lan);
}

/**
 * Deletes the host's interface hdl<M> and the LAN's namespaces (the veth pairs inside go with them), then the
 * record. Stop the processes in its nodes first (an engine's stop() does). Returns what could not be done.
 */
export function removeLan(lan: Lan): string[] {
  const problems: string[] = [];
  if (interfaceIndex(lan.hostInterface) !== undefined) {
    const { ok, output } = ip(['link', 'delete', lan.hostInterface]);
    if (!ok) problems.push(`ip link delete ${lan.hostInterface}: ${output}`);
  }
  for (const name of lanNamespaces(lan)) {
    if (!exists(`/run/netns/${name}`)) continue;
    const { ok, output } = ip(['netns', 'delete', name]);
    if (!ok) problems.push(`ip netns delete ${name}: ${output}`);
  }
  if (problems.length === 0) {
    rmSync(lan.record, { recursive: true, force: true });
    for (const mine of lansOfThisProcess) if (mine.record === lan.record) lansOfThisProcess.delete(mine);
  }
  return problems;
}

/** The LAN a record directory claims, if it is one (hdlan-<M>, with its node count). */
export function lanOfRecord(record: string): Lan | undefined {
  const match = new RegExp(`^${LAN_RECORD_PREFIX}(\\d+)$`).exec(path.basename(record));
  const nodeCount = Number(readIfThere(path.join(record, 'nodes')) ?? LAN_MAX_NODES);
  return match && Number(match[1]) < LANS && nodeCount >= 1 && nodeCount <= LAN_MAX_NODES ? lanOf(Number(match[1]), nodeCount) : undefined;
}

/** Namespaces and LANs whose owner died: their processes are killed and they are removed as their owner would have. */
export function sweepAbandonedNamespaces(): void {
  for (const entry of readdirSync(RECORDS_BASE)) {
    const record = path.join(RECORDS_BASE, entry);
    const namespace = namespaceOfRecord(record);
    const lan = namespace ? undefined : lanOfRecord(record);
    if (!namespace && !lan) continue;
    const owner = readIfThere(path.join(record, 'owner'));
    if (owner === undefined || !ownerGone(owner)) continue;
    process.stderr.write(`[netns] removing ${namespace?.name ?? lan!.name}, left behind by process ${owner.trim().split(' ')[0]}\n`);
    const paths = namespace ? [namespace.path] : lanNamespaces(lan!).map((name) => `/run/netns/${name}`);
    for (const pid of paths.flatMap((file) => processesIn({ path: file }))) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    const problems = namespace ? removeNamespace(namespace) : removeLan(lan!);
    if (problems.length > 0) process.stderr.write(`[netns] ${problems.join('\n')}\n`);
  }
}
