// Who may do what: basic auth on every route, a bearer token as the alternative for writes (POST /statistics),
// writes rate-limited per client, and /health reduced to its overall status for a caller without credentials.
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { BasicAuthVerifier } from './basic-auth.js';
import { parseBasicAuthorization } from './basic-credentials.js';
import { parseBearerAuthorization, tokenMatches } from './bearer-token.js';
import { setSecurityHeaders } from './headers.js';
import type { RateLimiter } from './rate-limit.js';

export const REALM = 'headroom';

export interface AccessPolicy {
  basicAuth?: BasicAuthVerifier;
  /** Accepted as `Authorization: Bearer TOKEN` on writes. */
  writeToken?: string;
  writeLimiter?: RateLimiter;
  overTls: boolean;
  /** Paths whose writes carry credentials of their own, checked by their routes (the extensions' ownAuthPaths). */
  ownAuthPaths: ReadonlySet<string>;
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Matches the way Express routes: case-insensitive, trailing slash optional, percent-escapes decoded. */
function normalisedPath(request: Request): string {
  let pathname = request.path;
  try {
    pathname = decodeURIComponent(pathname);
  } catch {
    // Left as it is: Express answers 400 for it.
  }
  return pathname.toLowerCase().replace(/\/+$/, '') || '/';
}

type Verdict = 'allowed' | 'status-only' | 'denied';

async function judge(policy: AccessPolicy, request: Request, isWrite: boolean): Promise<Verdict> {
  if (isWrite && policy.ownAuthPaths.has(normalisedPath(request))) return 'allowed';
  const header = request.headers.authorization;
  if (!policy.basicAuth && !(isWrite && policy.writeToken !== undefined)) return 'allowed';
  if (header === undefined) return !isWrite && normalisedPath(request) === '/health' ? 'status-only' : 'denied';
  const bearer = parseBearerAuthorization(header);
  if (bearer !== undefined) return isWrite && policy.writeToken !== undefined && tokenMatches(policy.writeToken, bearer) ? 'allowed' : 'denied';
  const credentials = parseBasicAuthorization(header);
  if (credentials !== undefined && policy.basicAuth) return (await policy.basicAuth.verify(credentials)) ? 'allowed' : 'denied';
  return 'denied';
}

function challenges(policy: AccessPolicy, isWrite: boolean): string[] {
  const offered: string[] = [];
  if (policy.basicAuth) offered.push(`Basic realm="${REALM}", charset="UTF-8"`);
  if (isWrite && policy.writeToken !== undefined) offered.push(`Bearer realm="${REALM}"`);
  return offered;
}

/** Keeps only `status` of the JSON body: enough for a container healthcheck, nothing about the internals. */
function reduceToStatus(response: Response): void {
  const json = response.json.bind(response);
  response.json = (body: unknown) => json(body !== null && typeof body === 'object' && 'status' in body ? { status: (body as { status: unknown }).status } : body);
}

export function accessGuard(policy: AccessPolicy, log: Logger) {
  return (request: Request, response: Response, next: NextFunction): void => {
    setSecurityHeaders(response, policy.overTls);
    const isWrite = !READ_METHODS.has(request.method);
    if (isWrite && policy.writeLimiter) {
      const decision = policy.writeLimiter.take(request.socket.remoteAddress ?? 'unknown');
      if (!decision.allowed) {
        response.setHeader('Retry-After', String(decision.retryAfterSeconds));
        response.status(429).json({ error: 'too many requests' });
        return;
      }
    }
    judge(policy, request, isWrite).then((verdict) => {
      if (verdict === 'denied') {
        log.debug({ method: request.method, path: request.path, client: request.socket.remoteAddress }, 'unauthorized');
        response.setHeader('WWW-Authenticate', challenges(policy, isWrite));
        response.status(401).json({ error: 'unauthorized' });
        return;
      }
      if (verdict === 'status-only') reduceToStatus(response);
      next();
    }, next);
  };
}
