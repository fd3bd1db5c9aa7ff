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

function gridPos(at: PanelSpec['at']) {
  const [x, y, w, h] = at;
  return { x, y, w, h };
}

export interface GraphSpec extends PanelSpec {
  /** Draw the thresholds as lines (percent-of-limit graphs). */
  showThresholds?: boolean;
  axisLabel?: string;
  bars?: boolean;
}

export function graph(spec: GraphSpec) {
  const panel = new timeseries.PanelBuilder()
    .id(spec.id).title(spec.title).description(spec.description).unit(spec.unit).datasource(DATASOURCE).gridPos(gridPos(spec.at))
    .targets(targets(spec.queries, 'range'))
    .legend(new VizLegendOptionsBuilder().displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).showLegend(true))
    .fillOpacity(10)
    .lineWidth(1);
  if (spec.thresholds) panel.thresholds(spec.thresholds);
  if (spec.showThresholds) panel.thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed));
  if (spec.axisLabel) panel.axisLabel(spec.axisLabel);
  if (spec.bars) panel.drawStyle(GraphDrawStyle.Bars);
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.axisSoftMax(spec.max);
  return panel;
}

export function single(spec: PanelSpec & { sparkline?: boolean }) {
  const panel = new stat.PanelBuilder()
    .id(spec.id).title(spec.title).description(spec.description).unit(spec.unit).datasource(DATASOURCE).gridPos(gridPos(spec.at))
    .targets(targets(spec.queries, spec.sparkline ? 'range' : 'instant'))
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .colorMode(BigValueColorMode.Background)
    .graphMode(spec.sparkline ? BigValueGraphMode.Area : BigValueGraphMode.None);
  if (spec.thresholds) panel.thresholds(spec.thresholds);
  if (spec.mappings) panel.mappings(spec.mappings);
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  if (spec.decimals !== undefined) panel.decimals(spec.decimals);
  return panel;
}

export function bars(spec: PanelSpec) {
  const panel = new bargauge.PanelBuilder()
    .id(spec.id).title(spec.title).description(spec.description).unit(spec.unit).datasource(DATASOURCE).gridPos(gridPos(spec.at))
    .targets(targets(spec.queries, 'instant'))
    .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .orientation(VizOrientation.Horizontal);
  if (spec.thresholds) panel.thresholds(spec.thresholds);
  if (spec.min !== undefined) panel.min(spec.min);
  if (spec.max !== undefined) panel.max(spec.max);
  return panel;
}

export function list(spec: PanelSpec) {
  const panel = new table.PanelBuilder()
    .id(spec.id).title(spec.title).description(spec.description).unit(spec.unit).datasource(DATASOURCE).gridPos(gridPos(spec.at))
    .targets(targets(spec.queries, 'table'))
    .withTransformation({ id: 'organize', options: { excludeByName: { Time: true, Value: true, __name__: true } } });
  if (spec.mappings) panel.mappings(spec.mappings);
  return panel;
}
