#!/usr/bin/env node
// A read-only gate in front of the Docker engine's socket, for headroom's host mode: it passes GET
// requests for what headroom reads (the container list, one container's inspection, the events stream,
// the engine's version and info) and answers 403 to everything else. Mounting the engine's socket read-only
// does not make its API read-only: anyone who can write to it is root on the host.
//   DOCKER_PROXY_UPSTREAM  the engine's socket (default /var/run/docker.sock)
//   DOCKER_PROXY_LISTEN    the socket to serve (default /run/headroom/docker.sock), made readable and
//                          writable by everyone in its directory (a volume shared with the exporter only)
//   DOCKER_PROXY_SWARM=1   also GET on nodes, services, tasks and networks (Prometheus's swarm discovery)
//   DOCKER_PROXY_UPDATE=true  also POST /containers/{id}/update of a container labelled headroom.autosize=true
//                          whose body sets only memory and CPU limits, within sane bounds (headroom's automatic
//                          sizing); nothing else of a container can be changed
//   DOCKER_PROXY_LISTEN_READONLY  a second socket that never passes updates (for Prometheus on a swarm)
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, request } from 'node:http';

const upstream = process.env.DOCKER_PROXY_UPSTREAM ?? '/var/run/docker.sock';
const listen = process.env.DOCKER_PROXY_LISTEN ?? '/run/headroom/docker.sock';
const listenReadOnly = process.env.DOCKER_PROXY_LISTEN_READONLY;

/** What may pass: GET only, on these paths, with or without an API version prefix. */
export const ALLOWED = /^(\/v\d+\.\d+)?\/(_ping|version|info|events|containers\/json|containers\/[0-9a-zA-Z][0-9a-zA-Z_.-]*\/json)(\?[^#]*)?$/;

/** With DOCKER_PROXY_SWARM=1, also these: the lists and single objects swarm discovery reads. */
export const ALLOWED_SWARM = /^(\/v\d+\.\d+)?\/(nodes|services|tasks|networks)(\/[0-9a-zA-Z][0-9a-zA-Z_.-]*)?(\?[^#]*)?$/;

export function allowed(method, url, swarm = false) {
  if (method !== 'GET' && method !== 'HEAD') return false;
  return ALLOWED.test(url ?? '') || (swarm && ALLOWED_SWARM.test(url ?? ''));
}

const swarm = process.env.DOCKER_PROXY_SWARM === '1';
const updates = process.env.DOCKER_PROXY_UPDATE === 'true';

export const UPDATE_PATH = /^(\/v\d+\.\d+)?\/containers\/[0-9a-zA-Z][0-9a-zA-Z_.-]*\/update$/;
/** The resource fields an update may set: limits only (no restart policy, no devices, no block I/O). */
export const UPDATE_FIELDS = new Set(['Memory', 'MemorySwap', 'MemoryReservation', 'NanoCpus', 'CpuQuota', 'CpuPeriod']);
const MAX_UPDATE_BYTES = 4096;

const MIN_MEMORY = 6 * 1024 * 1024;
/** Each field's bounds: no limit removed (0), none set so low that the container cannot run. */
const FIELD_ALLOWED = {
  Memory: (value) => value >= MIN_MEMORY,
  MemorySwap: (value) => value === -1 || value >= MIN_MEMORY,
  MemoryReservation: (value) => value >= 0,
  NanoCpus: (value) => value >= 10_000_000,
  CpuQuota: (value) => value >= 1000,
  CpuPeriod: (value) => value >= 1000 && value <= 1_000_000,
};

/** Whether a body is a JSON object of integer UPDATE_FIELDS only, at least one, each within its bounds. */
export function allowedUpdateBody(text) {
  let body;
  try { body = JSON.parse(text); } catch { return false; }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return false;
  const entries = Object.entries(body);
  return entries.length > 0 && entries.every(([key, value]) => UPDATE_FIELDS.has(key) && Number.isSafeInteger(value) && FIELD_ALLOWED[key](value));
}

/** Whether the engine has the container labelled headroom.autosize=true (the opt-in, checked here too). */
function optedIn(url) {
  const id = /\/containers\/([^/]+)\/update$/.exec(url)[1];
  return new Promise((resolve) => {
    const asked = request({ socketPath: upstream, method: 'GET', path: `/containers/${id}/json` }, (answer) => {
      let text = '';
      answer.setEncoding('utf8');
      answer.on('data', (chunk) => { if (text.length < 4 * 1024 * 1024) text += chunk; });
      answer.on('end', () => {
        try { resolve(answer.statusCode === 200 && JSON.parse(text).Config?.Labels?.['headroom.autosize'] === 'true'); } catch { resolve(false); }
      });
    });
    asked.on('error', () => resolve(false));
    asked.end();
  });
}

/** Reads a body of at most MAX_UPDATE_BYTES; undefined when it is longer. */
function readSmallBody(incoming) {
  return new Promise((resolve) => {
    const chunks = [];
    let length = 0;
    incoming.on('data', (chunk) => {
      length += chunk.length;
      if (length <= MAX_UPDATE_BYTES) chunks.push(chunk);
    });
    incoming.on('end', () => resolve(length <= MAX_UPDATE_BYTES ? Buffer.concat(chunks).toString('utf8') : undefined));
    incoming.on('error', () => resolve(undefined));
  });
}

function forward(incoming, response, body) {
  const headers = { ...incoming.headers };
  if (body !== undefined) { headers['content-length'] = String(Buffer.byteLength(body)); delete headers['transfer-encoding']; }
  const forwarded = request({ socketPath: upstream, method: incoming.method, path: incoming.url, headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  forwarded.on('error', (error) => (response.headersSent ? response.destroy() : refuse(response, 502, `engine: ${error.message}`)));
  response.on('close', () => forwarded.destroy());
  forwarded.end(body);
}

function refuse(response, status, message) {
  response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify({ message })}\n`);
}

/** The gate; `withUpdates` passes limits-only updates of opted-in containers. */
export function createGate(withUpdates) {
  return createServer((incoming, response) => {
    if (withUpdates && incoming.method === 'POST' && UPDATE_PATH.test(incoming.url ?? '')) {
      void readSmallBody(incoming).then(async (body) => {
        if (body === undefined || !allowedUpdateBody(body)) {
          process.stdout.write(`refused POST ${(incoming.url ?? '').slice(0, 200)}: not a limits-only update\n`);
          refuse(response, 403, `headroom docker-proxy: an update may set only ${[...UPDATE_FIELDS].join(', ')}, within bounds`);
          return;
        }
        if (!(await optedIn(incoming.url))) {
          process.stdout.write(`refused POST ${(incoming.url ?? '').slice(0, 200)}: not opted in\n`);
          refuse(response, 403, 'headroom docker-proxy: the container is not labelled headroom.autosize=true');
          return;
        }
        forward(incoming, response, body);
      });
      return;
    }
    if (!allowed(incoming.method, incoming.url, swarm)) {
      process.stdout.write(`refused ${incoming.method} ${(incoming.url ?? '').slice(0, 200)}\n`);
      incoming.resume();
      refuse(response, 403, `headroom docker-proxy: only GET on containers, events, version and info${swarm ? ', nodes, services, tasks and networks' : ''}`);
      return;
    }
    forward(incoming, response, undefined);
  });
}

function serve(server, socket, what) {
  if (existsSync(socket)) unlinkSync(socket);
  server.listen(socket, () => {
    chmodSync(socket, 0o666);
    process.stdout.write(`docker-proxy: ${socket} -> ${upstream} (${what})\n`);
  });
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const reads = `GET on containers, events, version, info${swarm ? ', nodes, services, tasks, networks' : ''}`;
  const servers = [createGate(updates)];
  serve(servers[0], listen, `${reads}${updates ? '; limits-only updates of opted-in containers' : ''}`);
  if (listenReadOnly) {
    servers.push(createGate(false));
    serve(servers[1], listenReadOnly, reads);
  }
  for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => { for (const server of servers) server.close(); setTimeout(() => process.exit(0), 100); });
}
