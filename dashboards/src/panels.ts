// Panel factories: every panel gets a description, a unit, the datasource variable and its place on the grid.
import { BigValueColorMode, BigValueGraphMode, GraphDrawStyle, GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode, LegendDisplayMode, LegendPlacement, ReduceDataOptionsBuilder, VizLegendOptionsBuilder, VizOrientation } from '@grafana/grafana-foundation-sdk/common';
import type { ThresholdsConfigBuilder, ValueMapping } from '@grafana/grafana-foundation-sdk/dashboard';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { DATASOURCE, targets, type Query } from './common.js';

export interface PanelSpec {
  id: number;
  title: string;
  description: string;
  unit: string;
  queries: Query[];
  /** x, y, width, height on the 24-column grid. */
  at: [number, number, number, number];
  thresholds?: ThresholdsConfigBuilder;
  mappings?: ValueMapping[];
  min?: number;
  max?: number;
  decimals?: number;
}

/** What every panel builder of the SDK offers; the builders mutate themselves and return `this`. */
interface CommonPanelBuilder {
  id(id: number): unknown;
  title(title: string): unknown;
  description(description: string): unknown;
  unit(unit: string): unknown;
  datasource(datasource: typeof DATASOURCE): unknown;
  gridPos(gridPos: { x: number; y: number; w: number; h: number }): unknown;
  thresholds(thresholds: ThresholdsConfigBuilder): unknown;
  mappings(mappings: ValueMapping[]): unknown;
  min(min: number): unknown;
  max(max: number): unknown;
  decimals(decimals: number): unknown;
}

/** Sets what every panel has (id, title, description, unit, datasource, place) and the optional field settings. */
function describe<B extends CommonPanelBuilder>(panel: B, spec: PanelSpec, maxIsSoft = false): B {
  const [x, y, w, h] = spec.at;
  panel.id(spec.id);
  panel.title(spec.title);
  panel.description(spec.description);
  panel.unit(spec.unit);
  panel.datasource(DATASOURCE);
  panel.gridPos({ x, y, w, h });
  if (spec.thresholds) panel.thresholds(spec.thresholds);
  if (spec.mappings) panel.mappings(spec.mappings);
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined && !maxIsSoft) panel.max(spec.max);
  if (spec.decimals !== undefined) panel.decimals(spec.decimals);
  return panel;
}

export interface GraphSpec extends PanelSpec {
  /** Draw the thresholds as lines (percent-of-limit graphs). */
  showThresholds?: boolean;
  axisLabel?: string;
  bars?: boolean;
}

export function graph(spec: GraphSpec) {
  // A graph's max is a soft one: the axis may grow past it.
  const panel = describe(new timeseries.PanelBuilder(), spec, true)
    .targets(targets(spec.queries, 'range'))
    .legend(new VizLegendOptionsBuilder().displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).showLegend(true))
    .fillOpacity(10)
    .lineWidth(1);
  if (spec.showThresholds) panel.thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed));
  if (spec.axisLabel) panel.axisLabel(spec.axisLabel);
  if (spec.bars) panel.drawStyle(GraphDrawStyle.Bars);
  if (spec.max !== undefined) panel.axisSoftMax(spec.max);
  return panel;
}

export function single(spec: PanelSpec & { sparkline?: boolean }) {
  return describe(new stat.PanelBuilder(), spec)
    .targets(targets(spec.queries, spec.sparkline ? 'range' : 'instant'))
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .colorMode(BigValueColorMode.Background)
    .graphMode(spec.sparkline ? BigValueGraphMode.Area : BigValueGraphMode.None);
}

export function bars(spec: PanelSpec) {
  return describe(new bargauge.PanelBuilder(), spec)
    .targets(targets(spec.queries, 'instant'))
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .orientation(VizOrientation.Horizontal);
}

export function list(spec: PanelSpec) {
  return describe(new table.PanelBuilder(), spec)
    .targets(targets(spec.queries, 'table'))
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true, Value: true, __name__: true } } });
}
