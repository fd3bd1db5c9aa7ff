// What a feature adds to the exporter (routes, health probes, families, a guard, the server itself), and
// what features offer each other: each declares by name what it provides and what it needs, and the
// exporter starts them in order and refuses to start one whose needs nothing before it provides.
import type { RequestListener, Server } from 'node:http';
import type { Express, RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ServeConfig } from './config.js';
import type { ProbeCheck } from './health.js';
import type { Scraper } from './scrape/scraper.js';

/**
 * What extensions offer one another, by name. A feature adds its own entry where it is defined
 * (`declare module '../extension.js' { interface Provisions { database: OpenDatabase } }`), so this
 * module knows no feature.
 */
export interface Provisions {}
export type ProvisionName = keyof Provisions;

export interface Extension {
  mount?: (app: Express) => void;
  /** Links for the landing page. */
  links?: Array<{ path: string; title: string }>;
  /** /health sub-statuses that do I/O. */
  probes?: ProbeCheck[];
  guard?: RequestHandler;
  /** Paths whose writes carry credentials of their own, checked by their routes: the access guard lets them pass. */
  ownAuthPaths?: string[];
  close?: () => Promise<void>;
  /** The server to listen with (HTTPS from --web.config.file); the first extension that has one decides. */
  createServer?: (listener: RequestListener) => Server;
  provides?: Partial<Provisions>;
}

export interface ExtensionContext {
  config: ServeConfig;
  registry: Registry;
  log: Logger;
  scraper: Scraper;
  /** Every ownAuthPaths of the extensions, filled as they start (read it per request). */
  ownAuthPaths: ReadonlySet<string>;
  /** What an earlier extension provides; only names listed in the factory's `needs`. */
  need<K extends ProvisionName>(name: K): Provisions[K];
}

export interface ExtensionFactory {
  /** Named in errors: "automatic sizing needs database". */
  name: string;
  needs?: readonly ProvisionName[];
  start(context: ExtensionContext): Promise<Extension>;
}
