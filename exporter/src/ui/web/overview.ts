// The overview table: one row per container, worst level first, updated in place (each row's elements are
// made once and only their text changes), filtered by a text box, every row reachable with the keyboard.
import type { Row } from './api-types.js';
import { formatBytes, formatCores, formatPercent, formatTime } from './charts.js';

/** The elements of one row whose content changes. */
interface RowView {
  tr: HTMLTableRowElement;
  link: HTMLAnchorElement;
  badge: HTMLElement;
  sub: HTMLElement;
  memoryText: HTMLElement;
  memoryBar: HTMLElement;
  memoryFill: HTMLElement;
  memoryMark: HTMLElement;
  cpuText: HTMLElement;
  cpuBar: HTMLElement;
  cpuFill: HTMLElement;
  throttled: HTMLElement;
  oom: HTMLTableCellElement;
  restarts: HTMLTableCellElement;
  exit: HTMLTableCellElement;
  sizeNow: HTMLElement;
  why: HTMLDetailsElement;
  whySummary: HTMLElement;
  whyText: HTMLElement;
  decision: HTMLTableCellElement;
  /** What the filter matches against. */
  haystack: string;
}

export const detailHref = (key: string) => `#/container/${encodeURIComponent(key)}`;

function element<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, parent?: HTMLElement): HTMLElementTagNameMap[K] {
  const made = document.createElement(tag);
  if (className) made.className = className;
  parent?.appendChild(made);
  return made;
}

function setText(target: HTMLElement, text: string): void {
  if (target.textContent !== text) target.textContent = text;
}

function setLevel(target: HTMLElement, base: string, level: string): void {
  const className = `${base} level-${level}`;
  if (target.className !== className) target.className = className;
}

/** Sets a figure and its exact value (data-value) for a cell or span. */
function setFigure(target: HTMLElement, text: string, value: number | null | undefined): void {
  setText(target, text);
  const raw = value === null || value === undefined ? '' : String(value);
  if (target.dataset.value !== raw) target.dataset.value = raw;
}

function bar(parent: HTMLElement, withMark: boolean, ticks: number[]): { track: HTMLElement; fill: HTMLElement; mark: HTMLElement } {
  const track = element('div', 'bar', parent);
  track.setAttribute('aria-hidden', 'true');
  for (const at of ticks) element('span', 'tick', track).style.left = `${at}%`;
  const fill = element('span', 'fill', track);
  const mark = element('span', 'mark', track);
  if (!withMark) mark.hidden = true;
  return { track, fill, mark };
}

const clampPercent = (value: number) => `${Math.max(0, Math.min(100, value)).toFixed(1)}%`;

function exitText(row: Row): string {
  if (!row.last_exit) return row.status === 'running' ? '–' : row.status;
  const reason = row.last_exit.reason === 'oom_killed' ? 'OOM-killed' : row.last_exit.reason;
  return `${row.last_exit.code} (${reason})`;
}

export class OverviewTable {
  private readonly views = new Map<string, RowView>();
  private order: string[] = [];
  private filterText = '';

  constructor(private readonly body: HTMLTableSectionElement, private readonly empty: HTMLElement, private readonly warningTicks: number[]) {
    // One listener for every row: a click anywhere on a row opens it; arrows move between rows.
    body.addEventListener('click', (event) => {
      const target = event.target as HTMLElement;
      if (target.closest('a, summary, details')) return;
      const tr = target.closest('tr');
      const key = tr?.dataset.key;
      if (key !== undefined) location.hash = detailHref(key);
    });
    body.addEventListener('keydown', (event) => {
      if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') return;
      const tr = (event.target as HTMLElement).closest('tr');
      if (!tr) return;
      let next = (event.key === 'ArrowDown' ? tr.nextElementSibling : tr.previousElementSibling) as HTMLTableRowElement | null;
      while (next && next.hidden) next = (event.key === 'ArrowDown' ? next.nextElementSibling : next.previousElementSibling) as HTMLTableRowElement | null;
      next?.querySelector('a')?.focus();
      if (next) event.preventDefault();
    });
  }

  private make(row: Row): RowView {
    const tr = element('tr');
    tr.dataset.key = row.key;
    const badgeCell = element('td', undefined, tr);
    const badge = element('span', 'badge', badgeCell);
    const nameCell = element('td', 'name', tr);
    const link = element('a', undefined, nameCell);
    link.href = detailHref(row.key);
    link.textContent = row.name;
    const sub = element('span', 'sub', nameCell);
    const memoryCell = element('td', 'memory', tr);
    const memoryText = element('span', undefined, memoryCell);
    const memoryBar = bar(memoryCell, true, this.warningTicks);
    const cpuCell = element('td', 'cpu', tr);
    const cpuText = element('span', undefined, cpuCell);
    const cpuBar = bar(cpuCell, false, this.warningTicks);
    const throttled = element('span', 'sub', cpuCell);
    const oom = element('td', 'num', tr);
    const restarts = element('td', 'num', tr);
    const exit = element('td', undefined, tr);
    const sizeCell = element('td', 'size', tr);
    const sizeNow = element('span', undefined, sizeCell);
    const why = element('details', 'why', sizeCell);
    const whySummary = element('summary', undefined, why);
    const whyText = element('p', undefined, why);
    const decision = element('td', undefined, tr);
    return { tr, link, badge, sub, memoryText, memoryBar: memoryBar.track, memoryFill: memoryBar.fill, memoryMark: memoryBar.mark, cpuText, cpuBar: cpuBar.track, cpuFill: cpuBar.fill, throttled, oom, restarts, exit, sizeNow, why, whySummary, whyText, decision, haystack: '' };
  }

  private fill(view: RowView, row: Row): void {
    view.tr.dataset.level = row.level;
    setLevel(view.badge, 'badge', row.level);
    setText(view.badge, row.level);
    const where = [row.compose_project, row.compose_service].filter(Boolean).join(' / ');
    // A limit other than memory and CPU shows once it is past info: it may be what sets the row's level.
    const limits = row.limits.filter((limit) => limit.level !== 'info').map((limit) => `${limit.resource} ${formatPercent(limit.percent)}`).join(', ');
    setText(view.sub, [where, row.status === 'running' ? '' : row.status, limits].filter(Boolean).join(' · '));
    view.haystack = `${row.name} ${row.compose_project} ${row.compose_service} ${row.level} ${row.status} ${limits}`.toLowerCase();

    const { memory, cpu } = row;
    const memoryShown = memory.working_set_bytes === null ? '–' : `${formatBytes(memory.working_set_bytes)} of ${memory.limit_enforced ? formatBytes(memory.limit_bytes) : `${formatBytes(memory.limit_bytes)} (host, no limit)`} · ${formatPercent(memory.percent)}`;
    setFigure(view.memoryText, memoryShown, memory.working_set_bytes);
    view.memoryText.dataset.limit = String(memory.limit_bytes ?? '');
    view.memoryText.dataset.percent = String(memory.percent ?? '');
    view.memoryBar.hidden = memory.percent === null;
    setLevel(view.memoryFill, 'fill', memory.level);
    view.memoryFill.style.width = clampPercent(memory.percent ?? 0);
    const reservation = memory.reservation_bytes !== null && memory.limit_bytes ? (memory.reservation_bytes / memory.limit_bytes) * 100 : null;
    view.memoryMark.hidden = reservation === null;
    if (reservation !== null) view.memoryMark.style.left = clampPercent(reservation);
    view.memoryMark.title = reservation === null ? '' : `reservation ${formatBytes(memory.reservation_bytes)}`;

    const cpuShown = cpu.percent === null ? '–' : `${formatPercent(cpu.percent)} of ${formatCores(cpu.limit_cores)} cores${cpu.limit_enforced ? '' : ' (host, no limit)'}`;
    setFigure(view.cpuText, cpuShown, cpu.percent);
    view.cpuText.dataset.limit = String(cpu.limit_cores ?? '');
    view.cpuBar.hidden = cpu.percent === null;
    setLevel(view.cpuFill, 'fill', cpu.level);
    view.cpuFill.style.width = clampPercent(cpu.percent ?? 0);
    setText(view.throttled, cpu.throttled_share === null ? '' : `throttled ${formatPercent(cpu.throttled_share * 100)} of periods (5 min)`);

    setFigure(view.oom, row.oom_kills.total === null ? '–' : `${row.oom_kills.total}${row.oom_kills.recent > 0 ? ` (${row.oom_kills.recent} recent)` : ''}`, row.oom_kills.total);
    setFigure(view.restarts, row.restarts.total === null ? '–' : `${row.restarts.total}${row.restarts.recent > 0 ? ` (${row.restarts.recent} recent)` : ''}`, row.restarts.total);
    setText(view.exit, exitText(row));

    const { size } = row;
    const recommended = size.recommended;
    setText(view.sizeNow, `${size.now ?? '–'}${recommended ? ` → ${recommended.size}` : ''}`);
    view.sizeNow.dataset.now = size.now ?? '';
    view.sizeNow.dataset.recommended = recommended?.size ?? '';
    setText(view.whySummary, recommended ? `why${recommended.confidence === 'low' ? ' (low confidence)' : ''}` : 'why not yet');
    setText(view.whyText, recommended ? recommended.reason : size.not_recommended_because ?? '');

    const last = row.last_decision;
    setText(view.decision, last ? `${last.direction} ${last.to ? `to ${last.to.size} ` : ''}${last.result}, ${formatTime(Date.parse(last.decided_at) / 1000)}` : '–');
    view.decision.title = last ? last.reason : '';
  }

  update(rows: Row[]): void {
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.key);
      let view = this.views.get(row.key);
      if (!view) this.views.set(row.key, view = this.make(row));
      this.fill(view, row);
    }
    for (const [key, view] of this.views) if (!seen.has(key)) { view.tr.remove(); this.views.delete(key); }
    const order = rows.map((row) => row.key);
    if (order.length !== this.order.length || order.some((key, index) => key !== this.order[index])) {
      // Moving a focused link out of the document blurs it: give it its focus back.
      const focused = document.activeElement;
      for (const key of order) this.body.appendChild(this.views.get(key)!.tr);
      if (focused instanceof HTMLElement && this.body.contains(focused) && document.activeElement !== focused) focused.focus();
      this.order = order;
    }
    this.applyFilter();
  }

  filter(text: string): void {
    this.filterText = text.trim().toLowerCase();
    this.applyFilter();
  }

  private applyFilter(): void {
    const words = this.filterText.split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const view of this.views.values()) {
      const visible = words.every((word) => view.haystack.includes(word));
      if (view.tr.hidden === visible) view.tr.hidden = !visible;
      if (visible) shown += 1;
    }
    this.empty.hidden = shown > 0 || this.views.size === 0;
  }

  /** The link of a row, to give focus back to when the detail closes. */
  linkOf(key: string): HTMLAnchorElement | undefined {
    return this.views.get(key)?.link;
  }
}
