// The page's entry point: the overview, refreshed in place at the server's refresh interval, and a
// container's detail under #/container/KEY (a fragment: no server route, so any sub-path works).
import type { LevelInfo, Overview } from './api-types.js';
import { DetailView } from './detail.js';
import { getJson } from './http.js';
import { OverviewTable } from './overview.js';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const status = byId<HTMLParagraphElement>('status');
const filter = byId<HTMLInputElement>('filter');
const overviewSection = byId<HTMLElement>('overview');
const rows = byId<HTMLTableElement>('rows');
const empty = byId<HTMLElement>('empty');
const legend = byId<HTMLElement>('legend');
const detail = new DetailView(byId<HTMLElement>('detail'), (message) => { status.textContent = message; });

let table: OverviewTable | undefined;
let refreshMs = 15_000;
let refreshes = 0;
/** The container whose detail was open, to give its row the focus back. */
let returnTo: string | undefined;

function showLegend(levels: LevelInfo[]): void {
  legend.replaceChildren();
  for (const level of levels) {
    const badge = document.createElement('span');
    badge.className = `badge level-${level.name}`;
    badge.textContent = level.percent === null ? `${level.name}` : `${level.name} ${level.inclusive ? '≥' : '>'} ${level.percent} %`;
    legend.appendChild(badge);
  }
}

function summary(overview: Overview): string {
  const counts = new Map<string, number>();
  for (const row of overview.containers) counts.set(row.level, (counts.get(row.level) ?? 0) + 1);
  const levels = overview.levels.filter((level) => counts.has(level.name)).reverse().map((level) => `${counts.get(level.name)} ${level.name}`);
  const what = overview.mode === 'host' ? `${overview.containers.length} containers` : 'this container';
  return `${what} (${levels.join(', ')}) · scraped ${new Date(overview.scraped_at).toLocaleTimeString()} · refreshed every ${overview.refresh_seconds} s`;
}

async function refresh(): Promise<void> {
  try {
    const overview = await getJson<Overview>('api/v1/containers');
    refreshMs = overview.refresh_seconds * 1000;
    if (!table) {
      const ticks = overview.levels.flatMap((level) => (level.percent === null || level.percent >= 100 ? [] : [level.percent]));
      table = new OverviewTable(rows.tBodies[0]!, empty, ticks);
      showLegend(overview.levels);
    }
    table.update(overview.containers);
    refreshes += 1;
    if (refreshes === 1) performance.mark('headroom:rows');
    document.body.dataset.refreshes = String(refreshes);
    document.body.dataset.scrapedAt = overview.scraped_at;
    status.textContent = summary(overview);
    if (detail.openKey !== undefined) await detail.refresh();
  } catch (error) {
    status.textContent = `Cannot refresh (${(error as Error).message}); trying again in ${refreshMs / 1000} s`;
  } finally {
    window.setTimeout(() => void refresh(), refreshMs);
  }
}

function route(): void {
  const match = /^#\/container\/(.+)$/.exec(location.hash);
  if (match) {
    const key = decodeURIComponent(match[1]!);
    overviewSection.hidden = true;
    returnTo = key;
    void detail.show(key);
    return;
  }
  detail.close();
  overviewSection.hidden = false;
  if (returnTo !== undefined) {
    table?.linkOf(returnTo)?.focus();
    returnTo = undefined;
  }
}

filter.addEventListener('input', () => table?.filter(filter.value));
window.addEventListener('hashchange', route);
route();
void refresh();
