// Every sized container in one table, as krr prints it: what it runs with now, what it should, and why.
// Pure: rows from recommendations, then text (aligned columns) or CSV.
import { formatCpus, formatMemorySize } from '../sizes.js';
import { MIB } from '../thresholds.js';
import type { Recommendation, Usage } from './decide.js';
import { reasonOf } from './report.js';

export interface TableRow {
  /** The container's name (host mode), else the instance. */
  name: string;
  instance: string;
  /** `project/service` where compose (or a swarm stack) started it, else empty. */
  compose: string;
  /** The limits it runs with now, and what it used: P95 CPU, peak working set. */
  cpuLimit: string;
  memoryLimit: string;
  cpuP95: string;
  memoryPeak: string;
  size: string;
  cpuRecommended: string;
  memoryRecommended: string;
  confidence: string;
  why: string;
}

export const TABLE_COLUMNS: Array<{ key: keyof TableRow; title: string }> = [
  { key: 'name', title: 'CONTAINER' },
  { key: 'compose', title: 'COMPOSE' },
  { key: 'cpuLimit', title: 'CPU NOW' },
  { key: 'cpuP95', title: 'CPU P95' },
  { key: 'cpuRecommended', title: 'CPU REC' },
  { key: 'memoryLimit', title: 'MEM NOW' },
  { key: 'memoryPeak', title: 'MEM PEAK' },
  { key: 'memoryRecommended', title: 'MEM REC' },
  { key: 'size', title: 'SIZE' },
  { key: 'why', title: 'WHY' },
];

export function tableRow(usage: Usage, recommendation: Recommendation): TableRow {
  return {
    name: usage.container ?? usage.instance,
    instance: usage.instance,
    compose: usage.composeService === undefined ? '' : `${usage.composeProject ?? ''}/${usage.composeService}`,
    cpuLimit: usage.cpuLimitCores === null || usage.limitsEnforced?.cpu === false ? 'none' : formatCpus(usage.cpuLimitCores),
    memoryLimit: usage.memoryLimitBytes === null || usage.limitsEnforced?.memory === false ? 'none' : formatMemorySize(usage.memoryLimitBytes),
    cpuP95: usage.cpuP95Cores.toFixed(2),
    memoryPeak: `${Math.round(usage.memoryPeakBytes / MIB)}M`,
    size: recommendation.size,
    cpuRecommended: formatCpus(recommendation.sizing.cpuLimitCores),
    memoryRecommended: formatMemorySize(recommendation.sizing.memoryLimitBytes),
    confidence: recommendation.confidence,
    why: `${recommendation.confidence === 'low' ? '(low confidence) ' : ''}${reasonOf(usage, recommendation)}`,
  };
}

/** Aligned columns, the last (why) unpadded; a header line first. */
export function renderTable(rows: TableRow[]): string {
  const cells = [TABLE_COLUMNS.map((column) => column.title), ...rows.map((row) => TABLE_COLUMNS.map((column) => row[column.key] || '-'))];
  const widths = TABLE_COLUMNS.map((_, index) => Math.max(...cells.map((line) => line[index]!.length)));
  return cells.map((line) => line.map((cell, index) => (index === line.length - 1 ? cell : cell.padEnd(widths[index]!))).join('  ')).join('\n');
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** RFC 4180: a header of the row's keys, one line per row, CRLF line ends. */
export function renderCsv(rows: TableRow[]): string {
  const keys: Array<keyof TableRow> = ['name', 'instance', 'compose', 'cpuLimit', 'cpuP95', 'cpuRecommended', 'memoryLimit', 'memoryPeak', 'memoryRecommended', 'size', 'confidence', 'why'];
  return [keys.join(','), ...rows.map((row) => keys.map((key) => csvField(row[key])).join(','))].join('\r\n') + '\r\n';
}
