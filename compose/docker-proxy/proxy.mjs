#!/usr/bin/env node
// A read-only gate in front of the Docker engine's socket, for headroom's host mode: it passes GET
// requests for what headroom reads (the container list, one container's inspection, the events stream,
// the engine's version and info) and answers 403 to everything else. Mounting the engine's socket read-only
// does not make its API read-only: anyone who can write to it is root on the host.
//   DOCKER_PROXY_UPSTREAM  the engine's socket (default /var/run/docker.sock)
//   DOCKER_PROXY_LISTEN    the socket to serve (default /run/headroom/docker.sock), made readable and
//                          writable by everyone in its directory (a volume shared with the exporter only)
//   DOCKER_PROXY_SWARM=1   also GET on nodes, services, tasks and networks (Prometheus's swarm discovery)
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, request } from 'node:http';

const upstream = process.env.DOCKER_PROXY_UPSTREAM ?? '/var/run/docker.sock';
const listen = process.env.DOCKER_PROXY_LISTEN ?? '/run/headroom/docker.sock';

/** What may pass: GET only, on these paths, with or without an API version prefix. */
export const ALLOWED = /^(\/v\d+\.\d+)?\/(_ping|version|info|events|containers\/json|containers\/[0-9a-zA-Z][0-9a-zA-Z_.-]*\/json)(\?[^#]*)?$/;

/** With DOCKER_PROXY_SWARM=1, also these: the lists and single objects swarm discovery reads. */
export const ALLOWED_SWARM = /^(\/v\d+\.\d+)?\/(nodes|services|tasks|networks)(\/[0-9a-zA-Z][0-9a-zA-Z_.-]*)?(\?[^#]*)?$/;

export function allowed(method, url, swarm = false) {
  if (method !== 'GET' && method !== 'HEAD') return false;
  return ALLOWED.test(url ?? '') || (swarm && ALLOWED_SWARM.test(url ?? ''));
}

const swarm = process.env.DOCKER_PROXY_SWARM === '1';

function refuse(response, status, message) {
  response.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify({ message })}\n`);
}

const server = createServer((incoming, response) => {
  if (!allowed(incoming.method, incoming.url, swarm)) {
    process.stdout.write(`refused ${incoming.method} ${(incoming.url ?? '').slice(0, 200)}\n`);
    incoming.resume();
    refuse(response, 403, `headroom docker-proxy: only GET on containers, events, version and info${swarm ? ', nodes, services, tasks and networks' : ''}`);
    return;
  }
  const forwarded = request({ socketPath: upstream, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  forwarded.on('error', (error) => (response.headersSent ? response.destroy() : refuse(response, 502, `engine: ${error.message}`)));
  response.on('close', () => forwarded.destroy());
  forwarded.end();
});

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  if (existsSync(listen)) unlinkSync(listen);
  server.listen(listen, () => {
    chmodSync(listen, 0o666);
    process.stdout.write(`docker-proxy: ${listen} -> ${upstream} (GET on containers, events, version, info${swarm ? ', nodes, services, tasks, networks' : ''})\n`);
  });
  for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => server.close(() => process.exit(0)));
}
