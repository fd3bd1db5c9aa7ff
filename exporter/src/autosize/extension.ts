// Automatic sizing as an exporter extension, in host mode. Off (the default), the webhook is acknowledged and
// nothing is done, so Alertmanager's route to it has nothing to retry; on, its code (the decisions, the
// store, the routes) is loaded. Alertmanager's webhook carries automatic sizing's own bearer token, which
// its route checks: the access guard lets it pass.
import type { Express } from 'express';
import type { ExtensionFactory } from '../extension.js';
import { AUTOSIZE_WEBHOOK_PATH } from './paths.js';

function mountAutosizeOff(app: Express): void {
  const off = { enabled: false, message: 'automatic sizing is off (--autosize.enabled)' };
  app.post(AUTOSIZE_WEBHOOK_PATH, (request, response) => { request.resume(); response.status(200).json(off); });
  app.get('/autosize', (_request, response) => { response.json(off); });
}

export const autosizeOffExtension: ExtensionFactory = {
  name: 'automatic sizing (off)',
  start: async () => ({ mount: mountAutosizeOff, ownAuthPaths: [AUTOSIZE_WEBHOOK_PATH] }),
};

export const autosizeExtension: ExtensionFactory = {
  name: 'automatic sizing',
  needs: ['watcher', 'database'],
  start: async (context) => (await import('./enabled.js')).startAutosize(context),
};
