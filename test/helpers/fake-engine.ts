// A stand-in for the engine behind the gate that is as easy to smuggle through as a server can be: it answers
// each request as soon as its head has arrived, never reads a body (bytes after a head are read as the start of
// the next request), keeps every connection open whatever the request says, and records every byte it
// receives. It answers anything: a DELETE that reaches it is answered and recorded, as an engine would act on it.
import { existsSync, unlinkSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';

export const FAKE_HOST = { NCPU: 4, MemTotal: 8 * 1024 ** 3 } as const;
/** Containers it knows: labelled headroom.autosize=true or not, with a CPU limit as NanoCpus or as a quota. */
export const FAKE_CONTAINERS: Record<string, { Id: string; labels: Record<string, string>; HostConfig: { NanoCpus: number; CpuQuota: number; CpuPeriod: number } }> = {
  opted: { Id: 'a'.repeat(64), labels: { 'headroom.autosize': 'true' }, HostConfig: { NanoCpus: 1e9, CpuQuota: 0, CpuPeriod: 0 } },
  quota: { Id: 'b'.repeat(64), labels: { 'headroom.autosize': 'true' }, HostConfig: { NanoCpus: 0, CpuQuota: 100_000, CpuPeriod: 100_000 } },
  plain: { Id: 'c'.repeat(64), labels: {}, HostConfig: { NanoCpus: 1e9, CpuQuota: 0, CpuPeriod: 0 } },
};

export interface FakeEngine {
  socket: string;
  /** Every byte each connection brought, in the order the connections were opened. */
  connections(): Buffer[];
  /** Every request line it answered. */
  requestLines(): string[];
  /** Connections open now. */
  open(): number;
  close(): Promise<void>;
}

function answer(status: number, body: string, extra = ''): string {
  return `HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Not Found'}\r\nContent-Type: application/json\r\nApi-Version: 1.41\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

function chunk(text: string): string {
  return `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n`;
}

/** The answer to one request line; an event stream is answered chunked and left open. */
function respond(socket: Socket, line: string): void {
  const [method, target = ''] = line.split(' ');
  const pathname = target.split('?')[0]!.replace(/^\/v\d+\.\d+/, '');
  const inspected = /^\/containers\/([^/]+)\/json$/.exec(pathname);
  if (pathname === '/_ping') socket.write(answer(200, 'OK'));
  else if (pathname === '/info') socket.write(answer(200, JSON.stringify(FAKE_HOST)));
  else if (pathname === '/events') {
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
    if (method !== 'HEAD') socket.write(chunk(`${JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID: 'a'.repeat(64), Attributes: {} } })}\n`));
  } else if (pathname === '/version') {
    // Chunked, with headers of one hop that must not reach the client.
    socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive, X-Hop\r\nKeep-Alive: timeout=77\r\nX-Hop: 1\r\nProxy-Authenticate: Basic\r\nUpgrade: h2c\r\nTrailer: X-Trail\r\n\r\n');
    socket.write(chunk('{"Version":"20.10.0",'));
    socket.write(chunk('"ApiVersion":"1.41"}'));
    socket.write('0\r\n\r\n');
  } else if (inspected) {
    const container = Object.values(FAKE_CONTAINERS).find((candidate) => candidate.Id === inspected[1]) ?? FAKE_CONTAINERS[inspected[1]!];
    socket.write(container
      ? answer(200, JSON.stringify({ Id: container.Id, Name: `/${inspected[1]}`, Config: { Labels: container.labels }, HostConfig: { Memory: 0, MemorySwap: 0, MemoryReservation: 0, ...container.HostConfig } }))
      : answer(404, JSON.stringify({ message: `No such container: ${inspected[1]}` })));
  } else socket.write(answer(200, JSON.stringify({ answered: line })));
}

export function startFakeEngine(socketPath: string): Promise<FakeEngine> {
  const received: Buffer[][] = [];
  const lines: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    const chunks: Buffer[] = [];
    received.push(chunks);
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    let pending = '';
    socket.on('data', (data: Buffer) => {
      chunks.push(data);
      pending += data.toString('latin1');
      let end: number;
      while ((end = pending.indexOf('\r\n\r\n')) !== -1) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        const line = head.split('\r\n').find((candidate) => /^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(candidate));
        if (line === undefined) continue;
        lines.push(line);
        respond(socket, line);
      }
    });
  });
  if (existsSync(socketPath)) unlinkSync(socketPath);
  return new Promise((resolve) => server.listen(socketPath, () => resolve({
    socket: socketPath,
    connections: () => received.map((chunks) => Buffer.concat(chunks)),
    requestLines: () => [...lines],
    open: () => sockets.size,
    close: () => new Promise((done) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => done());
    }),
  })));
}
