// POST /autosize/alertmanager (Alertmanager's webhook: scale up) and GET /autosize (the decisions).
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { parseBearerAuthorization, tokenMatches } from '../security/bearer-token.js';
import type { Autosizer } from './autosizer.js';
import { actingAlerts, webhookSchema } from './payload.js';
import { AUTOSIZE_WEBHOOK_PATH } from './paths.js';
import { alertsOf, FORWARDED_HEADER, forwardToPeers, type Peers } from './peers.js';
import { publicDecision, type AutosizeStore, type Decision } from './store.js';

export const MAX_WEBHOOK_BYTES = 256 * 1024;
const MAX_LIST = 1000;

export interface AutosizeRouteDeps {
  token: string;
  autosizer: Autosizer;
  store: AutosizeStore;
  settings: Record<string, unknown>;
  /** --autosize.host: alerts labelled with another host are not this exporter's; '' acts on every alert. */
  host: string;
  /** --autosize.peers: where the alerts of containers this exporter does not run are passed on. */
  peers?: Peers;
  log: Logger;
}

const parseJson = express.json({ limit: MAX_WEBHOOK_BYTES, type: () => true });


const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_LIST).default(100),
  container: z.string().min(1).max(255).optional(),
});

export function mountAutosizeRoutes(app: Express, deps: AutosizeRouteDeps): void {
  const { token, autosizer, store, log } = deps;

  const requireToken = (request: Request, response: Response, next: NextFunction) => {
    if (!tokenMatches(token, parseBearerAuthorization(request.headers.authorization))) {
      response.setHeader('WWW-Authenticate', 'Bearer realm="headroom autosize"');
      response.status(401).json({ error: 'unauthorized: POST /autosize/alertmanager needs the bearer token of --autosize.token-file' });
      return;
    }
    next();
  };

  app.post(AUTOSIZE_WEBHOOK_PATH, requireToken, (request, response, next) => {
    parseJson(request, response, (error?: unknown) => {
      if (error) {
        const status = (error as { type?: string }).type === 'entity.too.large' ? 413 : 400;
        response.status(status).json({ error: status === 413 ? `body over ${MAX_WEBHOOK_BYTES} bytes` : 'body is not valid JSON' });
        return;
      }
      next();
    });
  }, async (request, response) => {
    const payload = webhookSchema.safeParse(request.body);
    if (!payload.success) {
      response.status(400).json({ error: 'not an Alertmanager webhook payload (version 4)', issues: payload.error.issues.slice(0, 10).map((issue) => `${issue.path.join('.')}: ${issue.message}`) });
      return;
    }
    const all = actingAlerts(payload.data);
    const acting = deps.host === '' ? all.acting : all.acting.filter((alert) => alert.host === deps.host);
    const ignored = all.ignored + all.acting.length - acting.length;
    const decisions: Decision[] = [];
    const unknown: string[] = [];
    try {
      // The alerts of one payload one after another (the autosizer runs every decision in turn anyway).
      for (const alert of acting) {
        const decision = await autosizer.onAlert(alert);
        if (decision) decisions.push(decision);
        else unknown.push(alert.container);
      }
    } catch (error) {
      log.error({ err: (error as Error).message }, 'autosize: webhook failed');
      response.status(500).json({ error: 'internal error' });
      return;
    }
    const answered = decisions.map(publicDecision);
    const passOn = deps.peers && request.headers[FORWARDED_HEADER] === undefined ? alertsOf(payload.data, unknown) : undefined;
    if (passOn) answered.push(...await forwardToPeers(deps.peers!, token, passOn, log));
    const missing = [...new Set(unknown)].filter((container) => !answered.some((decision) => decision.container === container));
    if (acting.length > 0 && answered.length === 0) {
      response.status(404).json({ error: `no running container named ${missing.join(', ')}`, ignored });
      return;
    }
    response.status(200).json({ decisions: answered, unknown_containers: missing, ignored });
  });

  app.get('/autosize', async (request, response) => {
    const query = listQuery.safeParse(request.query);
    if (!query.success) {
      response.status(400).json({ error: `limit is 1-${MAX_LIST}; container a name` });
      return;
    }
    const decisions = await store.list(query.data.limit, query.data.container);
    response.json({ enabled: true, settings: deps.settings, decisions: decisions.map(publicDecision) });
  });
}
