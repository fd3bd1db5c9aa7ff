// The HTTP surface: landing page, /metrics, /health, and the routes extensions add.
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { HealthReport } from '../health.js';
import { VERSION } from '../version.js';

export interface Evaluation { health: HealthReport }

export interface AppOptions {
  registry: Registry;
  telemetryPath: string;
  /** The scrape and the last health results, for /metrics: never waits on a probe. */
  evaluateForMetrics: () => Promise<Evaluation>;
  /** The scrape and fresh health probes, for /health. */
  evaluateForHealth: () => Promise<Evaluation>;
  /** Routes added by extensions (statistics), mounted before the error handler. */
  mount?: Array<(app: Express) => void>;
  /** Links the landing page shows besides metrics and health, by path. */
  links?: Array<{ path: string; title: string }>;
  /** Runs before every route (access control). */
  guard?: (request: Request, response: Response, next: NextFunction) => void;
}

function landingPage(telemetryPath: string, links: ReadonlyArray<{ path: string; title: string }>): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>headroom</title></head>
<body>
<h1>headroom ${VERSION}</h1>
<p>How close a container runs to its CPU and memory limits.</p>
<ul>
<li><a href="${telemetryPath}">Metrics</a></li>
<li><a href="/health">Health</a></li>
${links.map((link) => `<li><a href="${link.path}">${link.title}</a></li>\n`).join('')}</ul>
</body></html>
`;
}

export function createApp(options: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  if (options.guard) app.use(options.guard);

  app.get(options.telemetryPath, async (_request, response) => {
    await options.evaluateForMetrics();
    response.set('Content-Type', options.registry.contentType).send(await options.registry.metrics());
  });

  app.get('/health', async (_request, response) => {
    const { health } = await options.evaluateForHealth();
    response.status(health.status === 'ok' ? 200 : 503).json(health);
  });

  for (const mount of options.mount ?? []) mount(app);

  // Where no extension serves `/` (the page is off): links to the rest.
  app.get('/', (_request, response) => {
    response.type('html').send(landingPage(options.telemetryPath, options.links ?? []));
  });

  app.use((_request: Request, response: Response) => {
    response.status(404).json({ error: 'not found' });
  });
  // Express needs the four-argument signature to recognise an error handler.
  app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
    const status = typeof (error as { status?: unknown }).status === 'number' ? (error as { status: number }).status : 500;
    response.status(status >= 400 && status < 600 ? status : 500).json({ error: status < 500 ? (error as Error).message : 'internal error' });
  });
  return app;
}
