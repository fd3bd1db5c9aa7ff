// On a swarm Alertmanager's webhook reaches one exporter, picked by DNS round robin, whatever node the
// alert's container runs on. The alerts of containers this exporter does not run are passed on to the other
// exporters (--autosize.peers, a name that resolves to each of them), marked so that none passes them on
// again; whichever runs the container decides, and its decisions are answered back.
import { lookup } from 'node:dns/promises';
import os from 'node:os';
import type { Logger } from 'pino';
import { AUTOSIZE_WEBHOOK_PATH } from './paths.js';
import type { WebhookPayload } from './payload.js';
import type { publicDecision } from './store.js';

/** Set on a request an exporter passed on: it is not passed on again. */
export const FORWARDED_HEADER = 'x-headroom-forwarded';
const FORWARD_TIMEOUT_MS = 30_000;

export interface Peers { host: string; port: number }
type PublicDecision = ReturnType<typeof publicDecision>;

/** The addresses of this machine's (this container's) interfaces: a task's own address is among them. */
function ownAddresses(): Set<string> {
  return new Set(Object.values(os.networkInterfaces()).flatMap((entries) => (entries ?? []).map((entry) => entry.address)));
}

/** The payload's alerts of those containers only; undefined when none is left. */
export function alertsOf(payload: WebhookPayload, containers: readonly string[]): WebhookPayload | undefined {
  const alerts = payload.alerts.filter((alert) => containers.includes(alert.labels.container ?? ''));
  return alerts.length === 0 ? undefined : { ...payload, alerts };
}

/** Posts the payload to every other peer; the decisions they answer (a peer that fails is logged and skipped). */
export async function forwardToPeers(peers: Peers, token: string, payload: WebhookPayload, log: Logger): Promise<PublicDecision[]> {
  let addresses: string[];
  try {
    const own = ownAddresses();
    addresses = (await lookup(peers.host, { all: true })).map((entry) => entry.address).filter((address) => !own.has(address));
  } catch (error) {
    log.warn({ peers: peers.host, err: (error as Error).message }, 'autosize: cannot resolve the peers');
    return [];
  }
  const answers = await Promise.all(addresses.map(async (address) => {
    const host = address.includes(':') ? `[${address}]` : address;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), FORWARD_TIMEOUT_MS);
    try {
      const response = await fetch(`http://${host}:${peers.port}${AUTOSIZE_WEBHOOK_PATH}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', [FORWARDED_HEADER]: '1' },
        body: JSON.stringify(payload),
        signal: controller.signal,
      });
      if (response.status === 404) return [];
      if (response.status !== 200) throw new Error(`answered ${response.status}`);
      return ((await response.json()) as { decisions?: PublicDecision[] }).decisions ?? [];
    } catch (error) {
      log.warn({ peer: address, err: (error as Error).message }, 'autosize: a peer did not take the alerts');
      return [];
    } finally {
      clearTimeout(timer);
    }
  }));
  return answers.flat();
}
