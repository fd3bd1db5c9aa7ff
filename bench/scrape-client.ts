// A minimal keep-alive HTTP client for sequential scrapes: one connection, latency from sending the request
// to the last byte of the body.
import { Agent, request } from 'node:http';

export interface Scrape { ms: number; body: string }

export class ScrapeClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(private readonly url: string) {}

  get(): Promise<Scrape> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request(this.url, { agent: this.agent, headers: { accept: 'text/plain' } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () => {
          const ms = performance.now() - started;
          if (response.statusCode !== 200) reject(new Error(`${this.url} answered ${response.statusCode}`));
          else resolve({ ms, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      req.once('error', reject);
      req.setTimeout(30_000, () => req.destroy(new Error(`${this.url} timed out`)));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
