// A forward proxy for image builds in a private engine (docker-engine.ts). The engine's network namespace
// has no route out, and nothing is routed from it; a build that downloads (the Dockerfile's `npm ci`, the
// stand-ins' `apt-get install`) runs on the engine's own network (--network=host is the namespace) with
// HTTP_PROXY and HTTPS_PROXY pointing here, on the host's end of the namespace's link. This proxy opens
// connections only to BUILD_DOWNLOADS and answers 403 to anything else: CONNECT for HTTPS (npm), absolute
// URLs for plain HTTP (apt). When this process itself has a proxy in its environment (HTTPS_PROXY,
// HTTP_PROXY), it goes through that one.
import { request, createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

/** npm's default registry: the npm inside an image has no configuration of its own. */
export const NPM_REGISTRY = 'https://registry.npmjs.org/';
/** The Debian mirror the stand-in images are made from, and so the one their apt uses (standin-images.ts). */
export const DEBIAN_MIRROR = 'http://deb.debian.org/debian';

function hostPort(url: string): string {
  const { protocol, hostname, port } = new URL(url);
  return `${hostname}:${port || (protocol === 'https:' ? 443 : 80)}`;
}

/** host:port a build of this project downloads from. */
export const BUILD_DOWNLOADS: readonly string[] = [hostPort(NPM_REGISTRY), hostPort(DEBIAN_MIRROR)];

export interface BuildProxy {
  /** http://ADDRESS:PORT */
  url: string;
  /** host:port it refused so far (for a build's error message). */
  refused: string[];
  close(): void;
}

function upstream(variable: 'HTTPS_PROXY' | 'HTTP_PROXY'): URL | undefined {
  const value = process.env[variable] ?? process.env[variable.toLowerCase()];
  return value ? new URL(value) : undefined;
}

/** A TCP connection to host:port, or a tunnel to it through the environment's proxy. */
function open(target: string, onOpen: (socket: Socket) => void, onError: (error: Error) => void): void {
  const proxy = upstream('HTTPS_PROXY');
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  if (!proxy) {
    const socket = connect(port, host, () => onOpen(socket));
    socket.once('error', onError);
    return;
  }
  const tunnel = request({ host: proxy.hostname, port: Number(proxy.port || 80), method: 'CONNECT', path: target });
  tunnel.once('connect', (response: IncomingMessage, socket: Socket) => {
    if (response.statusCode === 200) onOpen(socket);
    else { socket.destroy(); onError(new Error(`upstream proxy answered ${response.statusCode} to CONNECT ${target}`)); }
  });
  tunnel.once('error', onError);
  tunnel.end();
}

export function startBuildProxy(listenAddress: string, allowed: readonly string[] = BUILD_DOWNLOADS): Promise<BuildProxy> {
  const sockets = new Set<Socket>();
  const refused: string[] = [];
  const refuse = (what: string) => {
    refused.push(what);
    process.stderr.write(`[build-proxy] refused ${what}: only ${allowed.join(', ')}\n`);
  };
  const server: Server = createServer((incoming, answer) => {
    // Plain HTTP: the request line carries the absolute URL.
    let url: URL;
    try { url = new URL(incoming.url ?? ''); } catch { answer.writeHead(400).end(); return; }
    const target = `${url.hostname}:${url.port || 80}`;
    if (url.protocol !== 'http:' || !allowed.includes(target)) {
      refuse(`${incoming.method} ${url.origin}`);
      answer.writeHead(403).end();
      return;
    }
    const headers = { ...incoming.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const proxy = upstream('HTTP_PROXY');
    const outgoing = request(proxy
      ? { host: proxy.hostname, port: Number(proxy.port || 80), method: incoming.method, path: url.href, headers }
      : { host: url.hostname, port: Number(url.port || 80), method: incoming.method, path: `${url.pathname}${url.search}`, headers }, (response) => {
      answer.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(answer);
    });
    outgoing.once('error', () => { if (!answer.headersSent) answer.writeHead(502); answer.end(); });
    incoming.pipe(outgoing);
  });
  server.on('connect', (incoming: IncomingMessage, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const target = incoming.url ?? '';
    if (!allowed.includes(target)) {
      refuse(`CONNECT ${target}`);
      client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
      return;
    }
    open(target, (remote) => {
      // Small TLS records (handshakes, requests) go at once: Nagle's algorithm against delayed ACKs stalls them.
      remote.setNoDelay(true);
      client.setNoDelay(true);
      sockets.add(remote);
      remote.once('close', () => { sockets.delete(remote); client.destroy(); });
      remote.on('error', () => remote.destroy());
      client.once('close', () => remote.destroy());
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) remote.write(head);
      remote.pipe(client);
      client.pipe(remote);
    }, () => client.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
  });
  server.on('connection', (socket: Socket) => { sockets.add(socket); socket.once('close', () => sockets.delete(socket)); });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenAddress, () => {
      // Never what keeps a test process alive.
      server.unref();
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://${listenAddress}:${port}`,
        refused,
        close: () => {
          for (const socket of sockets) socket.destroy();
          server.close();
        },
      });
    });
  });
}
