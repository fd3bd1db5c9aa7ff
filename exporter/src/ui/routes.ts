// The page's routes: the document at /, its assets, and the JSON API under /api/v1/ (docs/page.md). Every
// answer is compressed where the client accepts it (brotli or gzip).
import compression from 'compression';
import express, { type Express } from 'express';
import { PAGE_CONTENT_SECURITY_POLICY } from '../security/headers.js';
import type { Assets } from './assets.js';
import { AmbiguousSeriesError, PrometheusUnavailableError, UnknownRangeError } from './errors.js';
import { HISTORY_RANGE, type PageData } from './page-data.js';

export const API_PREFIX = '/api/v1';

export interface PageRouteDeps { data: PageData; assets: Assets; html: string }

export function mountPage(app: Express, { data, assets, html }: PageRouteDeps): void {
  const router = express.Router();
  router.use(compression());

  router.get('/', (_request, response) => {
    response.setHeader('Content-Security-Policy', PAGE_CONTENT_SECURITY_POLICY);
    response.type('html').send(html);
  });

  router.get('/assets/:version/:name', (request, response) => {
    const asset = assets.files.get(request.params.name);
    if (!asset || request.params.version !== assets.version) {
      response.status(404).json({ error: 'not found' });
      return;
    }
    response.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    response.type(asset.type).send(asset.body);
  });

  router.get(`${API_PREFIX}/`, (_request, response) => {
    response.json({
      api_version: 1,
      endpoints: {
        [`${API_PREFIX}/containers`]: 'every watched container (or the sidecar\'s one target), worst level first',
        [`${API_PREFIX}/containers/{key}?range=NAME`]: `one container over a range: ${data.ranges.join(', ')} (default ${HISTORY_RANGE})`,
      },
    });
  });

  router.get(`${API_PREFIX}/containers`, async (_request, response) => {
    response.json(await data.overview());
  });

  router.get(`${API_PREFIX}/containers/:key`, async (request, response) => {
    const range = request.query.range ?? HISTORY_RANGE;
    if (typeof range !== 'string') {
      response.status(400).json({ error: `range is one of ${data.ranges.join(', ')}` });
      return;
    }
    try {
      const detail = await data.detail(request.params.key, range);
      if (!detail) response.status(404).json({ error: `no watched container ${JSON.stringify(request.params.key)}` });
      else response.json(detail);
    } catch (error) {
      if (error instanceof UnknownRangeError) response.status(400).json({ error: error.message });
      else if (error instanceof AmbiguousSeriesError) response.status(409).json({ error: error.message });
      else if (error instanceof PrometheusUnavailableError) response.status(502).json({ error: error.message });
      else throw error;
    }
  });

  app.use(router);
}
