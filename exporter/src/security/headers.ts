// Headers on every answer: nothing may be sniffed, framed, cached, or given a referrer; no script or style may load.
import type { Response } from 'express';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // Every answer is a live reading or a private record.
  'Cache-Control': 'no-store',
};

/**
 * The page's own policy (exporter/src/ui/): scripts, styles and data from this origin only, no inline code
 * or style, nothing framed. Replaces the one above on the page itself.
 */
export const PAGE_CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** HSTS only means something over TLS. */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000';

export function setSecurityHeaders(response: Response, overTls: boolean): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
  if (overTls) response.setHeader('Strict-Transport-Security', STRICT_TRANSPORT_SECURITY);
}
