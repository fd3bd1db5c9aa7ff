// The charts (uPlot, loaded before this module as a classic script) and the units every figure is shown in.
// Shared by the page and the self-contained HTML report, which inlines this file: so it imports nothing.
import type UPlot from 'uplot';
import type { LevelInfo, Marker, Series } from './api-types.js';

declare const uPlot: typeof UPlot;

const KIB = 1024;
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '–';
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= KIB && unit < UNITS.length - 1) { value /= KIB; unit += 1; }
  return `${value >= 100 || unit === 0 ? value.toFixed(0) : value.toFixed(1)} ${UNITS[unit]}`;
}

export function formatPercent(percent: number | null | undefined, digits = 1): string {
  return percent === null || percent === undefined || !Number.isFinite(percent) ? '–' : `${percent.toFixed(digits)} %`;
}

export function formatCores(cores: number | null | undefined): string {
  if (cores === null || cores === undefined || !Number.isFinite(cores)) return '–';
  return cores >= 10 ? cores.toFixed(1) : cores.toFixed(2);
}

export function formatTime(seconds: number): string {
  return new Date(seconds * 1000).toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

const MARKER_COLORS: Record<Marker['kind'], string> = { oom_kill: '#c4162a', restart: '#8f3bb8', sizing: '#1f60c4' };
const BLUE = '#1f60c4';
const GREY = '#6e7380';
const PURPLE = '#8f3bb8';

function levelColor(levels: LevelInfo[], name: string): string {
  return levels.find((level) => level.name === name)?.color ?? GREY;
}

function percentOf(levels: LevelInfo[], name: string): number {
  return levels.find((level) => level.name === name)?.percent ?? 100;
}

/** Vertical lines at the markers' times, each kind in its colour. */
function markersPlugin(markers: () => Marker[]): UPlot.Plugin {
  return {
    hooks: {
      draw: [(chart: UPlot) => {
        const { ctx, bbox } = chart;
        ctx.save();
        ctx.lineWidth = 2 * devicePixelRatio;
        for (const marker of markers()) {
          const x = Math.round(chart.valToPos(marker.t, 'x', true));
          if (x < bbox.left || x > bbox.left + bbox.width) continue;
          ctx.strokeStyle = MARKER_COLORS[marker.kind];
          ctx.setLineDash(marker.kind === 'sizing' ? [6 * devicePixelRatio, 4 * devicePixelRatio] : []);
          ctx.beginPath();
          ctx.moveTo(x, bbox.top);
          ctx.lineTo(x, bbox.top + bbox.height);
          ctx.stroke();
        }
        ctx.restore();
      }],
    },
  };
}

/** Publishes the plot area and the y scale on the chart's element, in CSS pixels: what a test checks the drawing against. */
function geometryPlugin(): UPlot.Plugin {
  return {
    hooks: {
      draw: [(chart: UPlot) => {
        const ratio = devicePixelRatio;
        const { dataset } = chart.root;
        dataset.plotLeft = String(chart.bbox.left / ratio);
        dataset.plotTop = String(chart.bbox.top / ratio);
        dataset.plotWidth = String(chart.bbox.width / ratio);
        dataset.plotHeight = String(chart.bbox.height / ratio);
        dataset.yMin = String(chart.scales.y?.min ?? 0);
        dataset.yMax = String(chart.scales.y?.max ?? 0);
        dataset.drawn = String(Number(dataset.drawn ?? 0) + 1);
      }],
    },
  };
}

export interface ChartInput { series: Series; markers: Marker[]; levels: LevelInfo[] }

/** What a chart plots: the x values and each line's, in the order of its series. */
type Columns = [number[], ...Array<Array<number | null>>];

const scaled = (column: Array<number | null>, factor: number) => column.map((value) => (value === null ? null : value * factor));

function memoryColumns({ series, levels }: ChartInput): Columns {
  const limit = series.memory_limit_bytes;
  return [
    series.t,
    series.memory_working_set_bytes,
    limit,
    scaled(limit, percentOf(levels, 'critical') / 100),
    scaled(limit, percentOf(levels, 'warning') / 100),
    series.memory_reservation_bytes,
  ];
}

function cpuColumns({ series }: ChartInput): Columns {
  return [series.t, series.cpu_used_cores, series.cpu_limit_cores, series.cpu_throttled_share.map((share) => (share === null ? null : share * 100))];
}

function width(element: HTMLElement): number {
  return Math.max(320, Math.floor(element.clientWidth || 640));
}

const maxOf = (columns: Array<Array<number | null>>) => {
  let max = 0;
  for (const column of columns) for (const value of column) if (value !== null && value > max) max = value;
  return max;
};

/** A chart that redraws in place: setInput replaces its figures without making a new one. */
export interface LiveChart { setInput(input: ChartInput): void; resize(): void; destroy(): void }

function liveChart(element: HTMLElement, input: ChartInput, options: (input: ChartInput) => Omit<UPlot.Options, 'width'>, columns: (input: ChartInput) => Columns): LiveChart {
  let current = input;
  const made = options(input);
  // Lines without point marks; a legend of names (the figures are beside the charts).
  const series = made.series.map((entry, index) => (index === 0 ? entry : { ...entry, points: { show: false } }));
  const chart = new uPlot({ ...made, series, legend: { live: false }, width: width(element), plugins: [markersPlugin(() => current.markers), geometryPlugin()] }, columns(input) as UPlot.AlignedData, element);
  return {
    setInput(next) {
      current = next;
      chart.setData(columns(next) as UPlot.AlignedData);
    },
    resize() {
      chart.setSize({ width: width(element), height: chart.height });
    },
    destroy() {
      chart.destroy();
    },
  };
}

const timeAxis: UPlot.Axis = { stroke: '#3b404c', grid: { stroke: '#e3e5ea' } };

export function memoryChart(element: HTMLElement, input: ChartInput): LiveChart {
  const { levels } = input;
  return liveChart(element, input, () => ({
    height: 260,
    scales: { x: { time: true }, y: { range: (_chart, _min, max) => [0, Math.max(max, 1) * 1.08] } },
    axes: [timeAxis, { stroke: '#3b404c', grid: { stroke: '#e3e5ea' }, size: 70, values: (_chart, ticks) => ticks.map((tick) => formatBytes(tick)) }],
    series: [
      {},
      { label: 'working set', stroke: BLUE, width: 2, fill: 'rgba(31,96,196,0.12)', value: (_chart, value) => formatBytes(value) },
      { label: `limit (${percentOf(levels, 'danger')} %)`, stroke: levelColor(levels, 'danger'), width: 2, value: (_chart, value) => formatBytes(value) },
      { label: `${percentOf(levels, 'critical')} %`, stroke: levelColor(levels, 'critical'), width: 1.5, dash: [8, 4], value: (_chart, value) => formatBytes(value) },
      { label: `${percentOf(levels, 'warning')} %`, stroke: levelColor(levels, 'warning'), width: 1.5, dash: [8, 4], value: (_chart, value) => formatBytes(value) },
      { label: 'reservation', stroke: GREY, width: 1.5, dash: [2, 4], value: (_chart, value) => formatBytes(value) },
    ],
  }), memoryColumns);
}

export function cpuChart(element: HTMLElement, input: ChartInput): LiveChart {
  const { levels } = input;
  return liveChart(element, input, () => ({
    height: 260,
    scales: { x: { time: true }, y: { range: (_chart, _min, max) => [0, Math.max(max, 0.01) * 1.08] }, share: { range: [0, 100] } },
    axes: [
      timeAxis,
      { stroke: '#3b404c', grid: { stroke: '#e3e5ea' }, size: 60, values: (_chart, ticks) => ticks.map((tick) => formatCores(tick)), label: 'cores' },
      { scale: 'share', side: 1, stroke: PURPLE, grid: { show: false }, size: 50, values: (_chart, ticks) => ticks.map((tick) => `${tick} %`), label: 'throttled' },
    ],
    series: [
      {},
      { label: 'used (cores)', stroke: BLUE, width: 2, fill: 'rgba(31,96,196,0.12)', value: (_chart, value) => formatCores(value) },
      { label: 'limit (cores)', stroke: levelColor(levels, 'danger'), width: 2, value: (_chart, value) => formatCores(value) },
      { label: 'throttled periods', scale: 'share', stroke: PURPLE, width: 1.5, value: (_chart, value) => formatPercent(value) },
    ],
  }), cpuColumns);
}

/** The report's data as its HTML file embeds it (exporter/src/report/). */
export interface ReportCharts { containers: Array<{ id: string; chart: ChartInput }> }

/** Draws every container's charts of a report into its placeholders (`#memory-ID`, `#cpu-ID`). */
export function drawReport(report: ReportCharts): void {
  for (const { id, chart } of report.containers) {
    const memory = document.getElementById(`memory-${id}`);
    const cpu = document.getElementById(`cpu-${id}`);
    if (memory) memoryChart(memory, chart);
    if (cpu) cpuChart(cpu, chart);
  }
}

/** The maximum of a chart's lines, for a caption. */
export function peakOf(input: ChartInput, which: 'memory' | 'cpu'): number {
  return maxOf((which === 'memory' ? memoryColumns(input) : cpuColumns(input)).slice(1, 2) as Array<Array<number | null>>);
}
