// Debian's Chromium, driven by playwright-core, for the suites that look at what headroom draws: a fresh empty
// profile per launch (playwright's own), none of Chromium's own network traffic (the machines here have no network beyond the
// package registries), every console message and page error kept for the suites to assert there are none.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { REPO_ROOT } from '../../scripts/processes.js';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
/** Where the suites save the screenshots the README shows. */
export const IMAGES_DIR = path.join(REPO_ROOT, 'docs', 'images');

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
  '--disable-extensions', '--metrics-recording-only', '--no-default-browser-check', '--disable-dev-shm-usage',
];

export interface ConsoleEntry { type: string; text: string; url: string }

export interface RunningBrowser {
  browser: Browser;
  /** A new context (own cookies, cache, credentials) whose pages report to `problems`. */
  newPage(options?: BrowserContextOptions): Promise<{ context: BrowserContext; page: Page }>;
  /** Console errors and warnings, and uncaught page errors, of every page so far. */
  problems: ConsoleEntry[];
  close(): Promise<void>;
}

/** playwright gives each launch a new empty profile of its own, and removes it on close. */
export async function launchChromium(): Promise<RunningBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 60_000 });
  const problems: ConsoleEntry[] = [];
  return {
    browser,
    problems,
    async newPage(options = {}) {
      const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, ...options });
      const page = await context.newPage();
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push({ type: message.type(), text: message.text(), url: page.url() });
      });
      page.on('pageerror', (error) => problems.push({ type: 'pageerror', text: error.message, url: page.url() }));
      return { context, page };
    },
    async close() {
      await browser.close();
    },
  };
}

export interface AxeViolation { id: string; impact: string | null; help: string; nodes: Array<{ target: string[]; failureSummary?: string }> }

/** Runs axe-core (injected from its npm package) on the page; the serious and critical violations. */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  const source = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  // Evaluated through the DevTools protocol, so the page's Content-Security-Policy does not apply to it.
  await page.evaluate(source);
  const violations = await page.evaluate(async () => {
    const axe = (globalThis as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  });
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical');
}

export function describeViolations(violations: AxeViolation[]): string {
  return violations.map((violation) => `${violation.id} (${violation.impact}): ${violation.help}\n${violation.nodes.slice(0, 5).map((node) => `  ${node.target.join(' ')}: ${node.failureSummary ?? ''}`).join('\n')}`).join('\n');
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<string> {
  mkdirSync(IMAGES_DIR, { recursive: true });
  const file = path.join(IMAGES_DIR, name);
  await page.screenshot({ path: file, fullPage });
  return file;
}

/** The JS heap in use after a forced garbage collection, through the DevTools protocol. */
export async function heapUsedAfterGc(context: BrowserContext, page: Page): Promise<number> {
  const session = await context.newCDPSession(page);
  try {
    await session.send('HeapProfiler.enable');
    await session.send('HeapProfiler.collectGarbage');
    await session.send('Performance.enable');
    const { metrics } = await session.send('Performance.getMetrics');
    const used = metrics.find((metric) => metric.name === 'JSHeapUsedSize')?.value;
    if (used === undefined) throw new Error('no JSHeapUsedSize in Performance.getMetrics');
    return used;
  } finally {
    await session.detach();
  }
}

/** What a chart's canvas shows: pixels that are not the background inside its plot area, and the rows where a colour is drawn. */
export interface ChartPixels { plot: { left: number; top: number; width: number; height: number }; yMin: number; yMax: number; inked: number; area: number; rowsOf: Record<string, number[]> }

/**
 * Reads the canvas of the chart in `selector` (uPlot's) and the plot area its geometry attributes give, and
 * finds the rows of the plot area where each of `colors` (#rrggbb) is drawn, in CSS pixels.
 */
export async function chartPixels(page: Page, selector: string, colors: string[]): Promise<ChartPixels> {
  return page.evaluate(({ selector: where, colors: wanted }) => {
    const root = document.querySelector(where)?.querySelector('.uplot') as HTMLElement | null;
    const canvas = root?.querySelector('canvas');
    if (!root || !canvas) throw new Error(`no chart in ${where}`);
    const ratio = canvas.width / canvas.getBoundingClientRect().width;
    const plot = { left: Number(root.dataset.plotLeft), top: Number(root.dataset.plotTop), width: Number(root.dataset.plotWidth), height: Number(root.dataset.plotHeight) };
    // Read from a copy made for reading: the chart's own context is never read back (Chromium warns when one is, often).
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const context = copy.getContext('2d', { willReadFrequently: true })!;
    context.drawImage(canvas, 0, 0);
    const x0 = Math.round(plot.left * ratio);
    const y0 = Math.round(plot.top * ratio);
    const w = Math.round(plot.width * ratio);
    const h = Math.round(plot.height * ratio);
    const data = context.getImageData(x0, y0, w, h).data;
    const rgb = wanted.map((color) => [Number.parseInt(color.slice(1, 3), 16), Number.parseInt(color.slice(3, 5), 16), Number.parseInt(color.slice(5, 7), 16)]);
    const rows: Record<string, Set<number>> = Object.fromEntries(wanted.map((color) => [color, new Set<number>()]));
    let inked = 0;
    for (let y = 0; y < h; y += 1) {
      for (let x = 0; x < w; x += 1) {
        const at = (y * w + x) * 4;
        const [r, g, b, a] = [data[at]!, data[at + 1]!, data[at + 2]!, data[at + 3]!];
        if (a > 0) inked += 1;
        rgb.forEach(([cr, cg, cb], index) => {
          if (a > 200 && Math.abs(r - cr!) < 12 && Math.abs(g - cg!) < 12 && Math.abs(b - cb!) < 12) rows[wanted[index]!]!.add(Math.round((y0 + y) / ratio));
        });
      }
    }
    return {
      plot, yMin: Number(root.dataset.yMin), yMax: Number(root.dataset.yMax), inked, area: w * h,
      rowsOf: Object.fromEntries(Object.entries(rows).map(([color, set]) => [color, [...set].sort((a, b) => a - b)])),
    };
  }, { selector, colors });
}
