// Access control as an exporter extension: the server (HTTP or HTTPS), and a guard before every route.
import type { Extension, ExtensionFactory } from '../extension.js';
import { loadToken } from './bearer-token.js';
import { accessGuard, type AccessPolicy } from './access.js';
import { RateLimiter } from './rate-limit.js';
import { createExporterServer } from './server.js';
import type { LoadedWebConfig } from './web-config.js';

/** Distinct clients whose write rate is tracked at once. */
const RATE_LIMIT_CLIENTS = 10_000;

async function startSecurity({ config, log, ownAuthPaths }: Parameters<ExtensionFactory['start']>[0]): Promise<Extension> {
  // The web configuration's parser (yaml, zod) and bcrypt are loaded only when a file is given.
  const web: LoadedWebConfig = config.webConfigFile === undefined ? {} : await (await import('./web-config.js')).loadWebConfig(config.webConfigFile);
  const policy: AccessPolicy = { overTls: web.tls !== undefined, ownAuthPaths };
  if (web.basicAuthUsers) policy.basicAuth = new (await import('./basic-auth.js')).BasicAuthVerifier(web.basicAuthUsers);
  if (config.statisticsTokenFile !== undefined) policy.writeToken = await loadToken(config.statisticsTokenFile);
  if (config.statisticsRateLimit > 0) {
    policy.writeLimiter = new RateLimiter({ ratePerSecond: config.statisticsRateLimit, burst: Math.max(1, Math.ceil(2 * config.statisticsRateLimit)), maxClients: RATE_LIMIT_CLIENTS });
  }
  log.info({ tls: web.tls !== undefined, basicAuth: policy.basicAuth !== undefined, writeToken: policy.writeToken !== undefined, writeRateLimit: config.statisticsRateLimit }, 'access control');
  const tls = web.tls && web.tlsMaterial ? { files: web.tls, material: web.tlsMaterial } : undefined;
  return {
    guard: accessGuard(policy, log),
    createServer: (listener) => createExporterServer(listener, tls),
  };
}

export const securityExtension: ExtensionFactory = { name: 'access control', start: startSecurity };
