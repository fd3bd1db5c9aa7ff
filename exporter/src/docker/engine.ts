// Clients of the Docker Engine API over the engine's unix socket (or HTTPS). engineClient can only read: GET
// requests with JSON answers, and the events stream; host mode uses nothing else. engineUpdater can send one
// write, a container's resource update, for `headroom resize` and automatic sizing.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { DockerHost, EngineAddress, EngineTls } from '../docker-host.js';

/** The API version every path is asked under: Engine 20.10's, which later engines still serve. */
export const ENGINE_API_VERSION = 'v1.41';
/** No answer of the engine headroom asks for comes near this. */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

export class EngineError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

export interface EngineClient {
  /** GET a JSON answer. */
  get<T>(path: string, timeoutMs?: number): Promise<T>;
  /** GET a stream of JSON lines (the events), each given to onValue, until the engine closes it or stop() is called. */
  stream(path: string, onValue: (value: unknown) => void): { done: Promise<void>; stop(): void };
  /** The address, for messages. */
  readonly address: string;
}

interface Connection {
  shown: string;
  open(method: 'GET' | 'POST', path: string, onResponse: (response: IncomingMessage) => void, onError: (error: Error) => void, body?: string): ClientRequest;
}

function connect(address: EngineAddress, tls: EngineTls): Connection {
  const tlsOptions = address.kind === 'https'
    ? { ca: tls.caFile ? readFileSync(tls.caFile) : undefined, cert: tls.certFile ? readFileSync(tls.certFile) : undefined, key: tls.keyFile ? readFileSync(tls.keyFile) : undefined }
    : {};
  const shown = address.kind === 'unix' ? `unix://${address.socketPath}` : address.url.origin;
  return {
    shown,
    open(method, path, onResponse, onError, body) {
      const headers: Record<string, string | number> = { accept: 'application/json', host: 'docker' };
      if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      const options = { method, path: `/${ENGINE_API_VERSION}${path}`, headers };
      const request = address.kind === 'unix'
        ? httpRequest({ ...options, socketPath: address.socketPath }, onResponse)
        : httpsRequest({ ...options, ...tlsOptions, hostname: address.url.hostname, port: address.url.port || 2376 }, onResponse);
      request.once('error', onError);
      request.end(body);
      return request;
    },
  };
}

/** Sends one request and resolves with its JSON answer; a status outside 2xx rejects with the engine's message. */
function exchange<T>(connection: Connection, method: 'GET' | 'POST', path: string, timeoutMs: number, body?: string): Promise<T> {
  const { shown } = connection;
  return new Promise<T>((resolve, reject) => {
    const request = connection.open(method, path, (response) => {
      const chunks: Buffer[] = [];
      let length = 0;
      response.on('data', (chunk: Buffer) => {
        length += chunk.length;
        if (length > MAX_ANSWER_BYTES) request.destroy(new EngineError(`${shown} ${method} ${path}: answer over ${MAX_ANSWER_BYTES} bytes`));
        else chunks.push(chunk);
      });
      response.once('error', reject);
      response.once('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = response.statusCode ?? 0;
        if (status < 200 || status > 299) {
          let message = text.trim();
          try { message = (JSON.parse(text) as { message?: string }).message ?? message; } catch { /* not JSON */ }
          reject(new EngineError(`${shown} ${method} ${path}: ${status} ${message}`, status));
          return;
        }
        try {
          resolve(JSON.parse(text) as T);
        } catch {
          reject(new EngineError(`${shown} ${method} ${path}: not JSON`));
        }
      });
    }, (error) => reject(new EngineError(`${shown}: ${(error as NodeJS.ErrnoException).code ?? error.message}`)), body);
    request.setTimeout(timeoutMs, () => request.destroy(new EngineError(`${shown} ${method} ${path}: no answer within ${timeoutMs} ms`)));
  });
}

export function engineClient({ address, tls }: Pick<DockerHost, 'address' | 'tls'>): EngineClient {
  const connection = connect(address, tls);
  const { shown } = connection;
  const open = (path: string, onResponse: (response: IncomingMessage) => void, onError: (error: Error) => void) => connection.open('GET', path, onResponse, onError);

  return {
    address: shown,
    get<T>(path: string, timeoutMs = 5000): Promise<T> {
      return exchange<T>(connection, 'GET', path, timeoutMs);
    },
    stream(path, onValue) {
      let request: ReturnType<typeof open> | undefined;
      let stopped = false;
      const done = new Promise<void>((resolve, reject) => {
        request = open(path, (response) => {
          if ((response.statusCode ?? 0) !== 200) {
            response.resume();
            reject(new EngineError(`${shown} GET ${path}: ${response.statusCode}`, response.statusCode));
            return;
          }
          let pending = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            pending += chunk;
            if (pending.length > MAX_ANSWER_BYTES) { request?.destroy(new EngineError(`${shown} GET ${path}: a line over ${MAX_ANSWER_BYTES} bytes`)); return; }
            let newline: number;
            while ((newline = pending.indexOf('\n')) !== -1) {
              const line = pending.slice(0, newline).trim();
              pending = pending.slice(newline + 1);
              if (line === '') continue;
              try { onValue(JSON.parse(line)); } catch { /* a line that is not JSON is skipped */ }
            }
          });
          response.once('end', () => resolve());
          response.once('error', (error) => (stopped ? resolve() : reject(error)));
        }, (error) => (stopped ? resolve() : reject(new EngineError(`${shown}: ${(error as NodeJS.ErrnoException).code ?? error.message}`))));
      });
      return { done, stop: () => { stopped = true; request?.destroy(); } };
    },
  };
}

export interface EngineUpdater {
  /** POST /containers/{id}/update with the given resource fields; resolves with the engine's warnings. */
  updateResources(id: string, body: Record<string, number>, timeoutMs?: number): Promise<string[]>;
  readonly address: string;
}

/** The one write headroom sends: a running container's resource limits, changed in place. */
export function engineUpdater({ address, tls }: Pick<DockerHost, 'address' | 'tls'>): EngineUpdater {
  const connection = connect(address, tls);
  return {
    address: connection.shown,
    async updateResources(id, body, timeoutMs = 10_000) {
      const answer = await exchange<{ Warnings?: string[] | null }>(connection, 'POST', `/containers/${encodeURIComponent(id)}/update`, timeoutMs, JSON.stringify(body));
      return answer.Warnings ?? [];
    },
  };
}
