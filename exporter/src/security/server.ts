// The HTTP or HTTPS server the exporter listens with, with timeouts that bound slow clients.
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { ClientAuthType, TlsFiles, TlsMaterial } from './web-config.js';

/** Whole request (headers and body) must arrive within this; a slower client gets 408. */
export const REQUEST_TIMEOUT_MS = 30_000;
export const HEADERS_TIMEOUT_MS = 10_000;

function clientCertificateOptions(type: ClientAuthType): { requestCert: boolean; rejectUnauthorized: boolean } {
  switch (type) {
    case 'NoClientCert': return { requestCert: false, rejectUnauthorized: false };
    case 'RequireAndVerifyClientCert': return { requestCert: true, rejectUnauthorized: true };
    default: return { requestCert: true, rejectUnauthorized: false };
  }
}

/** The client-certificate rules Node's TLS options cannot express alone; checked once the handshake is done. */
export function acceptsClientCertificate(type: ClientAuthType, socket: Pick<TLSSocket, 'getPeerCertificate' | 'authorized'>): boolean {
  const presented = Object.keys(socket.getPeerCertificate() ?? {}).length > 0;
  if (type === 'RequireAnyClientCert') return presented;
  if (type === 'VerifyClientCertIfGiven') return !presented || socket.authorized;
  return true;
}

export function createExporterServer(listener: RequestListener, tls?: { files: TlsFiles; material: TlsMaterial }): Server {
  let server: Server;
  if (tls) {
    const { files, material } = tls;
    const https = createHttpsServer({
      cert: material.cert,
      key: material.key,
      ...(material.ca ? { ca: material.ca } : {}),
      minVersion: files.minVersion,
      ...(files.maxVersion ? { maxVersion: files.maxVersion } : {}),
      ...clientCertificateOptions(files.clientAuthType),
    }, listener);
    https.on('secureConnection', (socket: TLSSocket) => {
      if (!acceptsClientCertificate(files.clientAuthType, socket)) socket.destroy();
    });
    server = https;
  } else {
    server = createHttpServer(listener);
  }
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  return server;
}
