// What the gate in front of the engine's socket passes (pure): which requests, and the exact request it sends
// the engine for each. Nothing of the client's request reaches the engine but a method from the allow-list, a
// path that matched it, and (for an update) a body the gate validated and wrote again itself.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/** What a socket of the gate passes besides host mode's reads. */
export interface GateScope {
  /** Prometheus's swarm discovery: GET on nodes, services, tasks and networks. */
  swarm: boolean;
  /** Automatic sizing: POST /containers/{id}/update (the body and the container are checked apart). */
  updates: boolean;
}

export type Route =
  /** A read answered at once. */
  | { kind: 'read'; method: 'GET' | 'HEAD'; path: string }
  /** A read the engine keeps open (the events): counted against the streams' cap. */
  | { kind: 'stream'; method: 'GET'; path: string }
  /** A container's update: `container` as the client named it, `version` the API prefix it gave ('' for none). */
  | { kind: 'update'; container: string; version: string }
  | { kind: 'refused'; status: number; message: string };

const VERSION = '(/v\\d{1,2}\\.\\d{1,3})?';
const ID = '[0-9a-zA-Z][0-9a-zA-Z_.-]{0,127}';
/** What URL encoders leave in a query (Go's, encodeURIComponent's), and `=&+`: no space, double quote, `#` or control character. */
const QUERY = "(\\?[A-Za-z0-9%._~=&+*!'()-]{0,4096})?";

const READS = new RegExp(`^${VERSION}/(_ping|version|info|containers/json|containers/${ID}/json)${QUERY}$`);
const STREAMS = new RegExp(`^${VERSION}/events${QUERY}$`);
const SWARM_READS = new RegExp(`^${VERSION}/(nodes|services|tasks|networks)(/${ID})?${QUERY}$`);
const UPDATE = new RegExp(`^${VERSION}/containers/(${ID})/update$`);

export const REFUSAL_PREFIX = 'headroom gate';

function refused(status: number, message: string): Route {
  return { kind: 'refused', status, message: `${REFUSAL_PREFIX}: ${message}` };
}

/** What passes on a socket of this scope, in words (for refusals and the log). */
export function describeScope(scope: GateScope): string {
  return `GET on containers, events, version and info${scope.swarm ? ', nodes, services, tasks and networks' : ''}${scope.updates ? '; limits-only updates of containers labelled headroom.autosize=true' : ''}`;
}

/** The route of a request line, or why it is refused (403). */
export function routeOf(method: string | undefined, url: string | undefined, scope: GateScope): Route {
  const target = url ?? '';
  if (method === 'GET' || method === 'HEAD') {
    if (READS.test(target) || (scope.swarm && SWARM_READS.test(target))) return { kind: 'read', method, path: target };
    // HEAD on the events would hold an engine handler open with nothing to send.
    if (method === 'GET' && STREAMS.test(target)) return { kind: 'stream', method, path: target };
  }
  if (method === 'POST' && scope.updates) {
    const update = UPDATE.exec(target);
    if (update) return { kind: 'update', container: update[2]!, version: update[1] ?? '' };
  }
  return refused(403, `only ${describeScope(scope)}`);
}

/**
 * Why a request's framing is refused before anything else (400), or undefined. GET and HEAD carry no body:
 * one with a Content-Length other than 0 or any Transfer-Encoding is how one client's bytes would become the
 * start of another's request on the engine's side, so it is answered here and never sent on.
 */
export function framingProblem(method: string | undefined, headers: IncomingHttpHeaders): string | undefined {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (headers['transfer-encoding'] !== undefined) return `${REFUSAL_PREFIX}: ${method} with a Transfer-Encoding: ${method} has no body`;
  const length = headers['content-length'];
  if (length !== undefined && length.trim() !== '0') return `${REFUSAL_PREFIX}: ${method} with a Content-Length of ${JSON.stringify(length.slice(0, 40))}: ${method} has no body`;
  return undefined;
}

export const USER_AGENT = 'headroom-gate';

/**
 * The headers of every request the gate sends the engine, and only these: none of the client's. One
 * connection a request (Connection: close), so that no two clients' requests ever share an engine socket.
 */
export function upstreamHeaders(body?: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { host: 'docker', 'user-agent': USER_AGENT, connection: 'close' };
  if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  return headers;
}

/** Headers of one hop only (RFC 9110 7.6.1), and HTTP/2's upgrade settings: never passed on. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'http2-settings']);

/**
 * The engine's answer headers as the gate passes them to the client: without the hop-by-hop ones, those the
 * engine's Connection names, and any Proxy-* (Node frames the answer for the client's HTTP version itself).
 */
export function answerHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const named = new Set(String(headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean));
  const passed: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || name.startsWith('proxy-')) continue;
    passed[name] = value;
  }
  return passed;
}

/** The path of a container's update as the gate sends it: the engine's full id of the container it checked. */
export function updatePath(version: string, id: string): string {
  return `${version}/containers/${id}/update`;
}
