// A container's detail: its figures, memory and CPU charts over a range (the in-process history, or 1 h to 7 d
// from Prometheus) with OOM kills, restarts and sizing decisions marked, and the compose lines for the
// recommended size. Redrawn in place on each refresh.
import type { Detail, Marker, Row } from './api-types.js';
import { cpuChart, formatBytes, formatCores, formatPercent, formatTime, memoryChart, type ChartInput, type LiveChart } from './charts.js';
import { getJson } from './http.js';

const RANGE_LABELS: Record<string, string> = { history: 'live', '1h': '1 h', '6h': '6 h', '24h': '24 h', '7d': '7 d' };
const MARKER_NAMES: Record<Marker['kind'], string> = { oom_kill: 'OOM kill', restart: 'restart', sizing: 'sizing decision' };

function element<K extends keyof HTMLElementTagNameMap>(tag: K, parent: HTMLElement, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  if (className) made.className = className;
  if (text !== undefined) made.textContent = text;
  parent.appendChild(made);
  return made;
}

function facts(list: HTMLDListElement, row: Row): void {
  list.replaceChildren();
  const add = (term: string, value: string) => {
    const item = element('div', list);
    element('dt', item, undefined, term);
    element('dd', item, undefined, value);
  };
  const { memory, cpu } = row;
  add('Compose', [row.compose_project, row.compose_service].filter(Boolean).join(' / ') || '–');
  add('Status', row.status);
  add('Memory', `${formatBytes(memory.working_set_bytes)} of ${formatBytes(memory.limit_bytes)}${memory.limit_enforced ? '' : ' (host, no limit)'} · ${formatPercent(memory.percent)} (${memory.level})`);
  add('Memory reservation', formatBytes(memory.reservation_bytes));
  add('CPU', `${formatCores(cpu.used_cores)} of ${formatCores(cpu.limit_cores)} cores${cpu.limit_enforced ? '' : ' (host, no limit)'} · ${formatPercent(cpu.percent)} (${cpu.level})`);
  add('Throttled (5 min)', cpu.throttled_share === null ? '–' : formatPercent(cpu.throttled_share * 100));
  add('OOM kills', row.oom_kills.total === null ? '–' : `${row.oom_kills.total} (${row.oom_kills.recent} recent)`);
  add('Restarts', row.restarts.total === null ? '–' : `${row.restarts.total} (${row.restarts.recent} recent)`);
  add('Last exit', row.last_exit ? `${row.last_exit.code} (${row.last_exit.reason})` : '–');
  add('Size now', row.size.now ?? '–');
  add('Size recommended', row.size.recommended ? `${row.size.recommended.size} (${row.size.recommended.confidence} confidence, from ${row.size.recommended.source})` : 'not yet');
  const last = row.last_decision;
  add('Last sizing decision', last ? `${last.direction}${last.to ? ` to ${last.to.size}` : ''}: ${last.result}, ${formatTime(Date.parse(last.decided_at) / 1000)}` : '–');
}

export class DetailView {
  private key: string | undefined;
  private range = 'history';
  private detail: Detail | undefined;
  private charts: LiveChart[] = [];
  private request: AbortController | undefined;
  /** Opened and not drawn yet: the heading takes the focus once it is (whichever request draws it first). */
  private focusPending = false;
  private readonly heading: HTMLHeadingElement;
  private readonly badge: HTMLSpanElement;
  private readonly ranges: HTMLDivElement;
  private readonly list: HTMLDListElement;
  private readonly reason: HTMLParagraphElement;
  private readonly memoryPlot: HTMLDivElement;
  private readonly cpuPlot: HTMLDivElement;
  private readonly eventsTable: HTMLTableElement;
  private readonly events: HTMLTableSectionElement;
  private readonly noEvents: HTMLParagraphElement;
  private readonly snippet: HTMLElement;
  private readonly snippetBlock: HTMLElement;
  private readonly error: HTMLParagraphElement;

  constructor(private readonly section: HTMLElement, private readonly onError: (message: string) => void) {
    const head = element('div', section, 'detail-head');
    const back = element('a', head, undefined, '← All containers');
    back.href = '#';
    this.heading = element('h2', head);
    this.heading.id = 'detail-title';
    this.heading.tabIndex = -1;
    this.badge = element('span', head, 'badge');
    this.ranges = element('div', head, 'ranges');
    this.ranges.setAttribute('role', 'group');
    this.ranges.setAttribute('aria-label', 'Range of the charts');
    this.ranges.addEventListener('click', (event) => {
      const range = (event.target as HTMLElement).closest('button')?.dataset.range;
      if (range && range !== this.range && this.key !== undefined) void this.show(this.key, range);
    });
    this.error = element('p', section, 'status');
    this.error.setAttribute('role', 'alert');
    this.list = element('dl', section, 'facts');
    this.reason = element('p', section, 'reason');
    const chart = (title: string, id: string) => {
      const figure = element('figure', section, 'chart');
      const caption = element('figcaption', figure);
      element('h3', caption, undefined, title);
      const plot = element('div', figure, 'plot');
      plot.id = id;
      plot.setAttribute('role', 'img');
      return plot;
    };
    this.memoryPlot = chart('Memory: working set, limit (100 %), the critical and warning lines, reservation', 'memory-plot');
    this.cpuPlot = chart('CPU: cores used, limit, share of periods throttled', 'cpu-plot');
    element('h3', section, undefined, 'Events');
    const table = element('table', section, 'events');
    table.id = 'events';
    this.eventsTable = table;
    const headRow = element('tr', element('thead', table));
    for (const title of ['Time', 'Event', 'What']) element('th', headRow, undefined, title).setAttribute('scope', 'col');
    this.events = element('tbody', table);
    this.noEvents = element('p', section, 'status', 'No OOM kill, restart or sizing decision in this range.');
    this.snippetBlock = element('div', section);
    element('h3', this.snippetBlock, undefined, 'Compose lines for the recommended size');
    const pre = element('pre', this.snippetBlock, 'snippet');
    pre.tabIndex = 0;
    pre.setAttribute('aria-label', 'Compose lines for the recommended size');
    this.snippet = element('code', pre);
    const copy = element('button', this.snippetBlock, undefined, 'Copy');
    copy.type = 'button';
    copy.addEventListener('click', () => { void navigator.clipboard?.writeText(this.snippet.textContent ?? '').then(() => { copy.textContent = 'Copied'; }, () => { copy.textContent = 'Select and copy'; }); });
    window.addEventListener('resize', () => { for (const live of this.charts) live.resize(); });
  }

  get openKey(): string | undefined {
    return this.key;
  }

  /** Opens a container (its first figures come with the request), or moves to another range. */
  async show(key: string, range = this.key === key ? this.range : 'history'): Promise<void> {
    const opening = this.key !== key;
    if (opening) this.clear();
    this.key = key;
    this.range = range;
    this.section.hidden = false;
    if (opening) {
      this.heading.textContent = key;
      this.focusPending = true;
    }
    await this.load();
  }

  /** Fetches again (each refresh of the live range). */
  async refresh(): Promise<void> {
    if (this.key !== undefined && this.range === 'history') await this.load();
  }

  close(): void {
    this.clear();
    this.key = undefined;
    this.focusPending = false;
    this.section.hidden = true;
  }

  private clear(): void {
    this.request?.abort();
    for (const live of this.charts) live.destroy();
    this.charts = [];
    this.detail = undefined;
  }

  private async load(): Promise<void> {
    const key = this.key!;
    this.request?.abort();
    const request = new AbortController();
    this.request = request;
    let detail: Detail;
    try {
      detail = await getJson<Detail>(`api/v1/containers/${encodeURIComponent(key)}?range=${encodeURIComponent(this.range)}`, request.signal);
    } catch (error) {
      if (request.signal.aborted) return;
      this.error.textContent = (error as Error).message;
      this.onError((error as Error).message);
      return;
    }
    if (request.signal.aborted || this.key !== key) return;
    this.error.textContent = '';
    this.render(detail);
    if (this.focusPending) {
      this.focusPending = false;
      this.heading.focus();
    }
  }

  private render(detail: Detail): void {
    const row = detail.container;
    const rangeChanged = this.detail?.range.name !== detail.range.name;
    this.detail = detail;
    this.heading.textContent = row.name;
    this.badge.className = `badge level-${row.level}`;
    this.badge.textContent = row.level;
    this.renderRanges(detail);
    facts(this.list, row);
    const recommended = row.size.recommended;
    this.reason.textContent = recommended ? `Recommended: ${recommended.size}. ${recommended.reason}` : `No recommendation yet: ${row.size.not_recommended_because ?? ''}`;
    const input: ChartInput = { series: detail.series, markers: detail.markers, levels: detail.levels };
    const points = detail.series.t.length;
    const span = `${RANGE_LABELS[detail.range.name] ?? detail.range.name} from ${detail.range.source === 'prometheus' ? 'Prometheus' : 'the exporter\'s own history'}, ${points} points`;
    this.memoryPlot.setAttribute('aria-label', `Memory of ${row.name} over ${span}; now ${formatBytes(row.memory.working_set_bytes)} of ${formatBytes(row.memory.limit_bytes)}`);
    this.cpuPlot.setAttribute('aria-label', `CPU of ${row.name} over ${span}; now ${formatCores(row.cpu.used_cores)} of ${formatCores(row.cpu.limit_cores)} cores`);
    if (this.charts.length === 0 || rangeChanged) {
      for (const live of this.charts) live.destroy();
      this.memoryPlot.replaceChildren();
      this.cpuPlot.replaceChildren();
      this.charts = [memoryChart(this.memoryPlot, input), cpuChart(this.cpuPlot, input)];
    } else {
      for (const live of this.charts) live.setInput(input);
    }
    this.events.replaceChildren();
    for (const marker of [...detail.markers].reverse()) {
      const tr = element('tr', this.events);
      element('td', tr, undefined, formatTime(marker.t));
      element('td', tr, `event-${marker.kind}`, MARKER_NAMES[marker.kind]);
      element('td', tr, undefined, marker.text);
    }
    this.noEvents.hidden = detail.markers.length > 0;
    this.eventsTable.hidden = detail.markers.length === 0;
    this.snippetBlock.hidden = detail.compose_snippet === '';
    if (this.snippet.textContent !== detail.compose_snippet) this.snippet.textContent = detail.compose_snippet;
  }

  private renderRanges(detail: Detail): void {
    const wanted = detail.ranges.join(',');
    if (this.ranges.dataset.ranges !== wanted) {
      this.ranges.replaceChildren();
      for (const range of detail.ranges) {
        const button = element('button', this.ranges, undefined, RANGE_LABELS[range] ?? range);
        button.type = 'button';
        button.dataset.range = range;
      }
      this.ranges.dataset.ranges = wanted;
    }
    for (const button of this.ranges.querySelectorAll('button')) button.setAttribute('aria-pressed', String(button.dataset.range === detail.range.name));
  }
}
