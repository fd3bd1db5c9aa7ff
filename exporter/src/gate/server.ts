// The gate's server: unix sockets in front of the engine's, each request checked by policy.ts and update.ts,
// and for each one that passes, a request the gate composes itself on a connection of its own to the engine.
// Caps on connections and on open event streams, answered 503 when full; slow clients timed out.
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, request, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { AUTOSIZE_LABEL } from '../docker/labels.js';
import { ENGINE_API_VERSION } from '../docker/engine.js';
import type { Tier } from '../thresholds.js';
import { answerHeaders, describeScope, framingProblem, REFUSAL_PREFIX, routeOf, updatePath, upstreamHeaders, type GateScope, type Route } from './policy.js';
import { containerOfAnswer, hostOfInfo, MAX_UPDATE_BYTES, parseUpdateBody, updateBodyText, updateBounds, updateRefusal } from './update.js';

export interface GateSocket { path: string; updates: boolean }

export interface GateOptions {
  /** The engine's socket. */
  upstream: string;
  sockets: GateSocket[];
  swarm: boolean;
  maxTier: Tier;
  maxConnections: number;
  maxStreams: number;
  /** A client has this long to send a request's headers and body. */
  requestTimeoutMs: number;
  /** Refused connections kept open at once for their clients to read the refusal (descriptors to spare). */
  lingeringRefusals: number;
  log: Logger;
}

export interface RunningGate { close(): Promise<void> }

/** How long a refused connection is kept at most for its client to read the refusal. */
const LINGER_MS = 1000;
/** The engine answers the head of every request headroom makes within this, an event stream's too. */
const ENGINE_HEAD_TIMEOUT_MS = 30_000;
/** No answer of the engine the gate reads itself (an inspection, /info) comes near this. */
const MAX_ENGINE_ANSWER_BYTES = 4 * 1024 * 1024;

/** The engine answered the gate's own question with something it cannot use. */
class EngineAnswerError extends Error {}

function answer(response: ServerResponse, status: number, message: string): void {
  if (response.headersSent) { response.destroy(); return; }
  // Every refusal closes the connection: whatever the client sent after it is never read as a request.
  response.writeHead(status, { 'content-type': 'application/json', connection: 'close' }).end(`${JSON.stringify({ message })}\n`);
}

/** The raw answer to a connection over the cap: no request of it is read. */
function fullAnswer(message: string): string {
  const body = `${JSON.stringify({ message })}\n`;
  return `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** A request body of at most `limit` bytes; undefined when it is longer. */
function readBody(incoming: IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    incoming.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length <= limit) chunks.push(chunk);
      else resolve(undefined);
    });
    incoming.once('end', () => resolve(length <= limit ? Buffer.concat(chunks).toString('utf8') : undefined));
    incoming.once('error', () => resolve(undefined));
  });
}

export async function startGate(options: GateOptions): Promise<RunningGate> {
  const { log } = options;
  let connections = 0;
  let streams = 0;
  let lingering = 0;

  /** Sends the engine a request the gate composed, on a connection of its own; the answer's head comes to onAnswer. */
  function sendUpstream(method: string, path: string, body: string | undefined, onAnswer: (answer: IncomingMessage) => void, onError: (error: Error) => void) {
    const outgoing = request({ socketPath: options.upstream, method, path, headers: upstreamHeaders(body), agent: false }, (incoming) => {
      clearTimeout(timer);
      onAnswer(incoming);
    });
    const timer = setTimeout(() => outgoing.destroy(new Error(`no answer within ${ENGINE_HEAD_TIMEOUT_MS / 1000} s`)), ENGINE_HEAD_TIMEOUT_MS);
    outgoing.once('error', (error) => { clearTimeout(timer); onError(error); });
    outgoing.end(body);
    return outgoing;
  }

  /** A JSON answer of the engine to a GET of the gate's own (an inspection, /info). */
  function askEngine(path: string): Promise<{ status: number; value: unknown }> {
    return new Promise((resolve, reject) => {
      sendUpstream('GET', `/${ENGINE_API_VERSION}${path}`, undefined, (incoming) => {
        const chunks: Buffer[] = [];
        let length = 0;
        incoming.on('data', (chunk: Buffer) => {
          length += chunk.length;
          if (length > MAX_ENGINE_ANSWER_BYTES) incoming.destroy(new Error(`answer over ${MAX_ENGINE_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        incoming.once('error', reject);
        incoming.once('end', () => {
          try { resolve({ status: incoming.statusCode ?? 0, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) }); } catch { reject(new Error(`GET ${path}: not JSON`)); }
        });
      }, reject);
    });
  }

  function forward(response: ServerResponse, method: string, path: string, body?: string, stream = false): void {
    // A client that left while the gate checked its update: nothing is sent for it.
    if (response.destroyed) return;
    const outgoing = sendUpstream(method, path, body, (incoming) => {
      response.writeHead(incoming.statusCode ?? 502, answerHeaders(incoming.headers));
      // Node sends the head with the first byte of the body: a stream's client would wait for its first event.
      if (stream) response.flushHeaders();
      incoming.pipe(response);
      incoming.once('error', () => response.destroy());
    }, (error) => {
      log.error({ method, path, err: error.message }, 'engine');
      answer(response, 502, `${REFUSAL_PREFIX}: the engine: ${error.message}`);
    });
    response.once('close', () => outgoing.destroy());
  }

  async function update(incoming: IncomingMessage, response: ServerResponse, route: Extract<Route, { kind: 'update' }>): Promise<string | undefined> {
    if (Number(incoming.headers['content-length'] ?? 0) > MAX_UPDATE_BYTES) {
      answer(response, 413, `${REFUSAL_PREFIX}: an update body is at most ${MAX_UPDATE_BYTES} bytes`);
      return 'body too large';
    }
    const text = await readBody(incoming, MAX_UPDATE_BYTES);
    if (text === undefined) {
      answer(response, 413, `${REFUSAL_PREFIX}: an update body is at most ${MAX_UPDATE_BYTES} bytes`);
      return 'body too large';
    }
    const parsed = parseUpdateBody(text);
    if ('problem' in parsed) {
      answer(response, 403, `${REFUSAL_PREFIX}: not a limits-only update: ${parsed.problem}`);
      return parsed.problem;
    }
    const inspected = await askEngine(`/containers/${encodeURIComponent(route.container)}/json`);
    if (inspected.status === 404) {
      answer(response, 404, `${REFUSAL_PREFIX}: no container ${route.container}`);
      return 'no such container';
    }
    if (inspected.status !== 200) throw new EngineAnswerError(`inspecting ${route.container}: ${inspected.status}`);
    const container = containerOfAnswer(inspected.value);
    if (!container) throw new EngineAnswerError(`inspecting ${route.container}: not an inspection`);
    if (!container.optedIn) {
      answer(response, 403, `${REFUSAL_PREFIX}: the container is not labelled ${AUTOSIZE_LABEL}=true`);
      return 'not opted in';
    }
    const info = await askEngine('/info');
    const host = info.status === 200 ? hostOfInfo(info.value) : undefined;
    if (!host) throw new EngineAnswerError(`GET /info: ${info.status}, without the host's memory and CPUs`);
    const refusal = updateRefusal(parsed.fields, container.cpu, updateBounds(options.maxTier, host));
    if (refusal) {
      answer(response, 403, `${REFUSAL_PREFIX}: ${refusal}`);
      return refusal;
    }
    // To the container that was checked, by its full id: a name could be given to another one meanwhile.
    forward(response, 'POST', updatePath(route.version, container.id), updateBodyText(parsed.fields));
    return undefined;
  }

  function handler(scope: GateScope, socketPath: string) {
    return (incoming: IncomingMessage, response: ServerResponse): void => {
      const shown = `${incoming.method} ${(incoming.url ?? '').slice(0, 200)}`;
      const refuse = (status: number, message: string) => {
        log.warn({ socket: socketPath, request: shown, status }, message);
        answer(response, status, message);
      };
      const framing = framingProblem(incoming.method, incoming.headers);
      if (framing) { refuse(400, framing); return; }
      const route = routeOf(incoming.method, incoming.url, scope);
      switch (route.kind) {
        case 'refused':
          refuse(route.status, route.message);
          return;
        case 'read':
          forward(response, route.method, route.path);
          return;
        case 'stream':
          if (streams >= options.maxStreams) {
            refuse(503, `${REFUSAL_PREFIX}: ${streams} event streams are open, the most it serves (--gate.max-streams); try again later`);
            return;
          }
          streams += 1;
          response.once('close', () => { streams -= 1; });
          forward(response, route.method, route.path, undefined, true);
          return;
        case 'update':
          update(incoming, response, route).then((refusal) => {
            if (refusal) log.warn({ socket: socketPath, request: shown }, `update refused: ${refusal}`);
            else log.info({ socket: socketPath, container: route.container }, 'update passed');
          }, (error: Error) => {
            log.error({ socket: socketPath, request: shown, err: error.message }, 'update: the engine');
            answer(response, 502, `${REFUSAL_PREFIX}: the engine: ${error.message}`);
          });
      }
    };
  }

  const servers: Array<{ net: NetServer; http: HttpServer }> = [];
  for (const socket of options.sockets) {
    const scope: GateScope = { swarm: options.swarm, updates: socket.updates };
    const http = createHttpServer({
      headersTimeout: options.requestTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      // Node checks both timeouts this often (default 30 s, which would let a slow client stay that much longer).
      connectionsCheckingInterval: Math.min(1000, options.requestTimeoutMs),
      keepAliveTimeout: 5000,
      maxHeaderSize: 8192,
    }, handler(scope, socket.path));
    // The net server below listens and hands the connections under the cap to this one; Node starts checking
    // the header and request timeouts of a server's connections when it emits 'listening'.
    http.emit('listening');
    // The cap is counted over every socket: they share the process's descriptors.
    const net = createNetServer((connection: Socket) => {
      if (connections >= options.maxConnections) {
        log.warn({ socket: socket.path, connections }, 'connection refused: at --gate.max-connections');
        connection.on('error', () => undefined);
        connection.end(fullAnswer(`${REFUSAL_PREFIX}: ${connections} connections are open, the most it serves (--gate.max-connections); try again later`));
        // Closed at once, a client still writing its request would get EPIPE instead of reading the answer: a
        // few refused connections are kept a moment, their requests read and dropped, until the client closes.
        if (lingering >= options.lingeringRefusals) { connection.destroySoon(); return; }
        lingering += 1;
        const timer = setTimeout(() => connection.destroy(), LINGER_MS);
        connection.once('close', () => { lingering -= 1; clearTimeout(timer); });
        connection.resume();
        return;
      }
      connections += 1;
      connection.once('close', () => { connections -= 1; });
      http.emit('connection', connection);
    });
    if (existsSync(socket.path)) unlinkSync(socket.path);
    await new Promise<void>((resolve, reject) => {
      net.once('error', reject);
      net.listen(socket.path, () => { net.off('error', reject); resolve(); });
    });
    // Its clients run as other users (the exporter, Prometheus): who may connect is decided by who mounts the directory.
    chmodSync(socket.path, 0o666);
    servers.push({ net, http });
    log.info({ socket: socket.path, upstream: options.upstream, passes: describeScope(scope), maxConnections: options.maxConnections, maxStreams: options.maxStreams }, 'gate listening');
  }

  return {
    async close() {
      await Promise.all(servers.map(({ net, http }) => new Promise<void>((resolve) => {
        net.close(() => resolve());
        http.close();
        http.closeAllConnections();
      })));
    },
  };
}
