// The page as an exporter extension (on unless --ui.enabled=false): its history fed by every scrape, its data,
// its routes at / and under /api/v1/. It needs host mode's watcher in host mode, and automatic sizing's
// decisions where that is on. The Prometheus client loads only with --ui.prometheus-url.
import type { ServeConfig } from '../config.js';
import type { Extension, ExtensionFactory, ProvisionName } from '../extension.js';
import { loadAssets } from './assets.js';
import { History } from './history.js';
import { PageData } from './page-data.js';
import { pageHtml } from './page-html.js';
import { mountPage } from './routes.js';
import { exporterSource } from './source.js';

export function uiExtension(config: ServeConfig): ExtensionFactory {
  const needs: ProvisionName[] = [];
  if (config.dockerHost !== undefined) needs.push('watcher');
  if (config.dockerHost !== undefined && config.autosizeEnabled) needs.push('autosizeStore');
  return {
    name: 'the page',
    needs,
    async start(context): Promise<Extension> {
      const { log } = context;
      const source = exporterSource(context, needs);
      const history = new History({ spanSeconds: config.uiHistory, stepSeconds: config.uiRefreshInterval });
      source.onSnapshot((snapshot) => history.record(snapshot));
      const prometheus = config.uiPrometheusUrl === undefined ? undefined : (await import('./prometheus.js')).prometheusFigures(config.uiPrometheusUrl, log);
      const data = new PageData(source, history, { refreshSeconds: config.uiRefreshInterval, ...(prometheus ? { prometheus } : {}) });
      const assets = loadAssets();
      const modules = [...assets.files.keys()].filter((name) => name.endsWith('.js') && name !== 'app.js' && !name.startsWith('uPlot') && name !== 'api-types.js');
      const html = pageHtml({ telemetryPath: config.telemetryPath, assetsVersion: assets.version, modules });
      return { mount: (app) => mountPage(app, { data, assets, html }) };
    },
  };
}
