// The credentials of an `Authorization: Basic` header (RFC 7617); checking them is basic-auth.ts's job.
export interface Credentials { user: string; password: string }

/** `Authorization: Basic base64(user:password)`; undefined for any other scheme or a malformed value. */
export function parseBasicAuthorization(header: string | undefined): Credentials | undefined {
  if (header === undefined) return undefined;
  const match = /^basic +([A-Za-z0-9+/]+={0,2}) *$/i.exec(header);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
