// A client of the Docker Engine API that can only read: GET requests over the engine's unix socket (or
// HTTPS), JSON answers, and the events stream. There is no way to send anything else through it.
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** The API version every path is asked under: Engine 20.10's, which later engines still serve. */
export const ENGINE_API_VERSION = 'v1.41';
/** No answer of the engine headroom asks for comes near this. */
const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

export type EngineAddress =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'https'; url: URL };

/**
 * `unix:///var/run/docker.sock` or `https://HOST:PORT`; null for anything else. A TCP engine address without
 * TLS (`tcp://`, `http://`) is refused: the engine's API is root on its host.
 */
export function parseEngineAddress(raw: string): EngineAddress | null {
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    return socketPath.startsWith('/') ? { kind: 'unix', socketPath } : null;
  }
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' && url.pathname === '/' ? { kind: 'https', url } : null;
  } catch {
    return null;
  }
}

export interface EngineTls { caFile?: string; certFile?: string; keyFile?: string }

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

export function engineClient(address: EngineAddress, tls: EngineTls = {}): EngineClient {
  const tlsOptions = address.kind === 'https'
    ? { ca: tls.caFile ? readFileSync(tls.caFile) : undefined, cert: tls.certFile ? readFileSync(tls.certFile) : undefined, key: tls.keyFile ? readFileSync(tls.keyFile) : undefined }
    : {};
  const shown = address.kind === 'unix' ? `unix://${address.socketPath}` : address.url.origin;

  function open(path: string, onResponse: (response: IncomingMessage) => void, onError: (error: Error) => void) {
    const options = { method: 'GET' as const, path: `/${ENGINE_API_VERSION}${path}`, headers: { accept: 'application/json', host: 'docker' } };
    const request = address.kind === 'unix'
      ? httpRequest({ ...options, socketPath: address.socketPath }, onResponse)
      : httpsRequest({ ...options, ...tlsOptions, hostname: address.url.hostname, port: address.url.port || 2376 }, onResponse);
    request.once('error', onError);
    request.end();
    return request;
  }

  return {
    address: shown,
    get<T>(path: string, timeoutMs = 5000): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        const request = open(path, (response) => {
          const chunks: Buffer[] = [];
          let length = 0;
          response.on('data', (chunk: Buffer) => {
            length += chunk.length;
            if (length > MAX_ANSWER_BYTES) request.destroy(new EngineError(`${shown} GET ${path}: answer over ${MAX_ANSWER_BYTES} bytes`));
            else chunks.push(chunk);
          });
          response.once('error', reject);
          response.once('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = response.statusCode ?? 0;
            if (status < 200 || status > 299) {
              let message = text.trim();
              try { message = (JSON.parse(text) as { message?: string }).message ?? message; } catch { /* not JSON */ }
              reject(new EngineError(`${shown} GET ${path}: ${status} ${message}`, status));
              return;
            }
            try {
              resolve(JSON.parse(text) as T);
            } catch {
              reject(new EngineError(`${shown} GET ${path}: not JSON`));
            }
          });
        }, (error) => reject(new EngineError(`${shown}: ${(error as NodeJS.ErrnoException).code ?? error.message}`)));
        request.setTimeout(timeoutMs, () => request.destroy(new EngineError(`${shown} GET ${path}: no answer within ${timeoutMs} ms`)));
      });
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
