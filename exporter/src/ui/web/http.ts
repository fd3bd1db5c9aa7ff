// The page's requests to its API: relative URLs (a reverse proxy's sub-path is kept), JSON answers.
import type { ApiError } from './api-types.js';

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const response = await fetch(url, { headers: { accept: 'application/json' }, credentials: 'same-origin', ...(signal ? { signal } : {}) });
  const body = await response.json().catch(() => undefined) as T | ApiError | undefined;
  if (!response.ok) throw new Error(`${url}: ${response.status} ${(body as ApiError | undefined)?.error ?? response.statusText}`);
  return body as T;
}
