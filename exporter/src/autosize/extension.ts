// Automatic sizing as an exporter extension, in host mode. Off (the default), the webhook is acknowledged and
// nothing is done, so Alertmanager's route to it has nothing to retry; on, its code (the decisions, the
// store, the routes) is loaded.
import type { Express } from 'express';
import type { Extension, ExtensionFactory } from '../serve.js';
import { AUTOSIZE_WEBHOOK_PATH } from './paths.js';

function mountAutosizeOff(app: Express): void {
  const off = { enabled: false, message: 'automatic sizing is off (--autosize.enabled)' };
  app.post(AUTOSIZE_WEBHOOK_PATH, (request, response) => { request.resume(); response.status(200).json(off); });
  app.get('/autosize', (_request, response) => { response.json(off); });
}

export const autosizeExtension: ExtensionFactory = async (context): Promise<Extension> => {
  if (!context.hostMode) return {};
  if (!context.config.autosizeEnabled) return { mount: mountAutosizeOff };
  return (await import('./enabled.js')).startAutosize(context);
};
