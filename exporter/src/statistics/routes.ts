// POST /statistics (store a usage report) and GET /statistics (summary).
import { isUtf8 } from 'node:buffer';
import express, { type Express, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { MAX_BODY_BYTES, type Rejection } from './limits.js';
import type { RejectionReason, StatisticsCounts } from './metrics.js';
import type { Pruner } from './retention.js';
import type { StatisticsStore } from './store.js';

export interface RouteDeps {
  store: StatisticsStore;
  counts: StatisticsCounts;
  pruner: Pruner;
  log: Logger;
  now?: () => number;
}

// zod loads with the first report, not at start: an exporter that is only scraped never needs it.
let schemaModule: Promise<typeof import('./schema.js')> | undefined;
const loadSchema = () => (schemaModule ??= import('./schema.js'));

// Invalid UTF-8 would otherwise be decoded to U+FFFD and stored as if it had been sent.
const parseJson = express.json({
  limit: MAX_BODY_BYTES,
  strict: false,
  type: () => true,
  verify: (_request, _response, body) => {
    if (!isUtf8(body)) throw Object.assign(new Error('body is not UTF-8'), { status: 400, type: 'entity.parse.failed' });
  },
});

/** `application/json` or a `+json` type, with any parameters (charset). */
function isJsonContentType(header: string | undefined): boolean {
  const mediaType = header?.split(';')[0]?.trim().toLowerCase() ?? '';
  return mediaType === 'application/json' || /^application\/[\w.-]+\+json$/.test(mediaType);
}

function reasonForParseError(error: { type?: string; status?: number }): { status: number; reason: RejectionReason; message: string } {
  switch (error.type) {
    case 'entity.too.large':
      return { status: 413, reason: 'too_large', message: `body over ${MAX_BODY_BYTES} bytes` };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, reason: 'unsupported_media_type', message: 'unsupported content encoding or charset' };
    case 'entity.parse.failed':
      return { status: 400, reason: 'malformed_json', message: 'body is not valid JSON' };
    default:
      return { status: error.status !== undefined && error.status < 500 ? error.status : 400, reason: 'malformed_json', message: 'unreadable body' };
  }
}

export function mountStatisticsRoutes(app: Express, deps: RouteDeps): void {
  const { store, counts, pruner, log } = deps;
  const now = deps.now ?? Date.now;

  const reject = (response: Response, status: number, reason: RejectionReason, rejection: Rejection) => {
    counts.rejected.add({ reason });
    response.status(status).json(rejection);
  };

  app.post('/statistics', (request: Request, response: Response) => {
    if (!isJsonContentType(request.headers['content-type'])) {
      // The body is not read: close the connection rather than leave it unread on a keep-alive socket.
      response.set('Connection', 'close');
      return reject(response, 415, 'unsupported_media_type', { error: 'expected Content-Type: application/json', field: null });
    }
    parseJson(request, response, async (parseError?: unknown) => {
      if (parseError) {
        const { status, reason, message } = reasonForParseError(parseError as { type?: string; status?: number });
        if (status === 413) response.set('Connection', 'close');
        return reject(response, status, reason, { error: message, field: null });
      }
      const { parseUsageReport } = await loadSchema();
      const parsed = parseUsageReport(request.body);
      if ('rejection' in parsed) return reject(response, 400, 'invalid', parsed.rejection);
      const receivedAt = now();
      let outcome;
      try {
        outcome = await store.insert(parsed.report, receivedAt);
      } catch (error) {
        log.error({ err: (error as Error).message }, 'cannot store usage report');
        return reject(response, 503, 'unavailable', { error: 'statistics database unavailable', field: null });
      }
      switch (outcome.kind) {
        case 'created':
          counts.received.add();
          response.status(201).json({ id: outcome.id });
          pruner.afterInsert(receivedAt);
          return;
        case 'duplicate':
          counts.duplicates.add();
          response.status(200).json({ id: outcome.id, duplicate: true });
          return;
        case 'conflict':
          return reject(response, 409, 'conflict', { error: 'report_id already used by another installation', field: 'report_id' });
      }
    });
  });

  app.get('/statistics', async (_request: Request, response: Response) => {
    const generatedAt = now();
    try {
      const summary = await store.summary(generatedAt);
      response.json({
        generated_at: new Date(generatedAt).toISOString(),
        installations_active: { '24h': summary.installationsActive24h, '7d': summary.installationsActive7d },
        active_users: summary.activeUsers,
        reports_stored: summary.reportsStored,
        versions: summary.versions,
        platforms: summary.platforms,
      });
    } catch (error) {
      log.error({ err: (error as Error).message }, 'cannot read usage statistics');
      response.status(503).json({ error: 'statistics database unavailable' });
    }
  });
}
