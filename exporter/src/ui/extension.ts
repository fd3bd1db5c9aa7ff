// The page as an exporter extension (on unless --ui.enabled=false): its history fed by every scrape, its data,
// its routes at / and under /api/v1/. The Prometheus client loads only with --ui.prometheus-url.
import type { Extension, ExtensionFactory } from '../serve.js';
import { loadAssets } from './assets.js';
import { History } from './history.js';
import { PageData } from './page-data.js';
import { pageHtml } from './page-html.js';
import { mountPage } from './routes.js';
import { exporterSource } from './source.js';

export const uiExtension: ExtensionFactory = async (context): Promise<Extension> => {
  const { config, log } = context;
  if (!config.uiEnabled) return {};
  const source = exporterSource(context);
  const history = new History({ spanSeconds: config.uiHistory, stepSeconds: config.uiRefreshInterval });
  source.onSnapshot((snapshot) => history.record(snapshot));
  const prometheus = config.uiPrometheusUrl === undefined ? undefined : (await import('./prometheus.js')).prometheusFigures(config.uiPrometheusUrl, log);
  const data = new PageData(source, history, { refreshSeconds: config.uiRefreshInterval, ...(prometheus ? { prometheus } : {}) });
  const assets = loadAssets();
  const modules = [...assets.files.keys()].filter((name) => name.endsWith('.js') && name !== 'app.js' && !name.startsWith('uPlot') && name !== 'api-types.js');
  const html = pageHtml({ telemetryPath: config.telemetryPath, assetsVersion: assets.version, modules });
  return { mount: (app) => mountPage(app, { data, assets, html }) };
};
