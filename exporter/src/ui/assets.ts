// The page's files, all served from the package (never a CDN) and read once at start: the browser modules
// compiled beside this file (web/), uPlot from its npm package, and the style sheet made from the thresholds
// module. Their URLs carry a hash of their contents, so a browser may keep them.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { LEVEL_COLORS } from '../thresholds.js';
import { pageStyles } from './styles.js';

export interface Asset { type: string; body: Buffer }
export interface Assets {
  /** Part of every asset's URL: changes whenever one of them does. */
  version: string;
  files: ReadonlyMap<string, Asset>;
}

const WEB_DIR = fileURLToPath(new URL('./web/', import.meta.url));
const require = createRequire(import.meta.url);
const JAVASCRIPT = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
/** The tab's icon: three bars in the levels' colours (browsers ask for one; a missing one is a console error). */
const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#1d1f24"/><rect x="3" y="9" width="2" height="4" fill="${LEVEL_COLORS.info.rgb}"/><rect x="7" y="6" width="2" height="7" fill="${LEVEL_COLORS.warning.rgb}"/><rect x="11" y="3" width="2" height="10" fill="${LEVEL_COLORS.danger.rgb}"/></svg>`;

/** uPlot's files, from its package (a production dependency, so the image has them). */
export function uplotFile(name: 'uPlot.iife.min.js' | 'uPlot.min.css'): string {
  return readFileSync(require.resolve(`uplot/dist/${name}`), 'utf8');
}

/** A compiled browser module by name (`charts.js`), without its source-map comment. */
export function webModule(name: string): string {
  return readFileSync(`${WEB_DIR}${name}`, 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
}

export function loadAssets(): Assets {
  const files = new Map<string, Asset>([
    ['uPlot.iife.min.js', { type: JAVASCRIPT, body: Buffer.from(uplotFile('uPlot.iife.min.js')) }],
    ['uPlot.min.css', { type: CSS, body: Buffer.from(uplotFile('uPlot.min.css')) }],
    ['page.css', { type: CSS, body: Buffer.from(pageStyles()) }],
    ['icon.svg', { type: 'image/svg+xml', body: Buffer.from(ICON) }],
  ]);
  for (const name of readdirSync(WEB_DIR).filter((file) => file.endsWith('.js')).sort()) files.set(name, { type: JAVASCRIPT, body: Buffer.from(webModule(name)) });
  const hash = createHash('sha256');
  for (const [name, asset] of files) hash.update(name).update(asset.body);
  return { version: hash.digest('hex').slice(0, 12), files };
}
