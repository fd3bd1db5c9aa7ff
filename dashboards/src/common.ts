// Building blocks shared by the dashboards: the datasource and instance variables, queries, thresholds, tier mappings.
import {
  CustomVariableBuilder, DatasourceVariableBuilder, MappingType, QueryVariableBuilder, ThresholdsConfigBuilder, ThresholdsMode,
  VariableRefresh, VariableSort, type DataSourceRef, type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { LEVEL_COLORS as LEVEL_PALETTE, LEVELS, levelValue, THRESHOLDS, TIERS, type Level } from '../../exporter/src/thresholds.js';

/** The provisioned Prometheus datasource (dashboards/provisioning/datasources/prometheus.yml). */
export const PROVISIONED_DATASOURCE = { name: 'Prometheus', uid: 'headroom-prometheus' } as const;

export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

/**
 * Label matcher of the exporter's own series (health, build info): the hosts and instances chosen. Series
 * remote-written from many hosts carry a `host` label; a single Prometheus's carry none, which `.*` matches.
 */
export const INSTANCE_SELECTOR = 'host=~"$host",instance=~"$instance"';
/**
 * Label matcher of the watched cgroups' series: the instances and, in host mode, the containers chosen
 * (the sidecar's series have no container label, which `.*` matches).
 */
export const SELECTOR = `${INSTANCE_SELECTOR},container=~"$container"`;
/** Legend of a watched cgroup's series: its instance and, in host mode, its container. */
export const WHO = '{{instance}} {{container}}';

export function datasourceVariable() {
  return new DatasourceVariableBuilder('datasource')
    .label('Data source')
    .type('prometheus')
    .current({ selected: true, text: PROVISIONED_DATASOURCE.name, value: PROVISIONED_DATASOURCE.uid });
}

/** A multi-valued variable over one label's values; `allValue` is what "All" matches. */
function labelVariable(name: string, label: string, query: string, allValue: string) {
  return new QueryVariableBuilder(name)
    .label(label)
    .datasource(DATASOURCE)
    .query({ query, refId: name })
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(allValue)
    .current({ selected: true, text: 'All', value: '$__all' });
}

/** The hosts, where many hosts' series meet in one store (remote write's `host` label); empty otherwise. */
export function hostVariable() {
  return labelVariable('host', 'Host', 'label_values(headroom_build_info, host)', '.*');
}

export function instanceVariable() {
  return labelVariable('instance', 'Instance', 'label_values(headroom_build_info{host=~"$host"}, instance)', '.+');
}

/** Host mode's containers (none for a sidecar: the variable is then empty and matches everything). */
export function containerVariable() {
  return labelVariable('container', 'Container', 'label_values(headroom_cpu_limit_cores{host=~"$host",instance=~"$instance"}, container)', '.*');
}

/** The window the deployment-size figures are taken over (the recommender's default is 7d). */
export function windowVariable() {
  const choices = ['1d', '3d', '7d', '14d', '30d'];
  return new CustomVariableBuilder('window')
    .label('Window')
    .values(choices.join(','))
    .current({ selected: true, text: '7d', value: '7d' })
    .options(choices.map((choice) => ({ selected: choice === '7d', text: choice, value: choice })));
}

export interface Query { expr: string; legend: string }

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** Prometheus queries of one panel: range queries for graphs, instant ones for stats, bar gauges and tables. */
export function targets(queries: Query[], kind: 'range' | 'instant' | 'table'): DataqueryBuilder[] {
  return queries.map(({ expr, legend }, index) => {
    const builder = new DataqueryBuilder().datasource(DATASOURCE).expr(expr).legendFormat(legend).refId(REF_IDS[index]!);
    if (kind === 'range') return builder.range();
    builder.instant();
    return kind === 'table' ? builder.format(PromQueryFormat.Table) : builder;
  });
}

/** The color each level is shown in: Grafana's name for the colour of the thresholds module (the page's too). */
export const LEVEL_COLORS = Object.fromEntries(LEVELS.map((level) => [level, LEVEL_PALETTE[level].grafana])) as Record<Level, string>;

/** Colors for percent of a limit: each level's color from its threshold up. */
export function levelThresholds() {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(LEVELS.map((level) => ({
    value: level === 'info' ? null : THRESHOLDS[level].percent,
    color: LEVEL_COLORS[level],
  })));
}

/** Colors for the headroom left under a limit (100 - percent used): the same boundaries seen from the other side. */
export function headroomThresholds() {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([
    { value: null, color: 'red' },
    { value: 100 - THRESHOLDS.critical.percent, color: 'orange' },
    { value: 100 - THRESHOLDS.warning.percent, color: 'green' },
  ]);
}

export function fixedThresholds(color: string) {
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps([{ value: null, color }]);
}

/** 0 small, 1 medium, 2 large, 3 custom: the values of the tier-index expressions. */
export function tierMappings(): ValueMapping[] {
  const options: Record<string, { text: string; color: string; index: number }> = {};
  const colors = ['green', 'blue', 'purple'];
  TIERS.forEach((tier, index) => { options[String(index)] = { text: tier.name, color: colors[index % colors.length]!, index }; });
  options[String(TIERS.length)] = { text: 'custom (no tier fits)', color: 'red', index: TIERS.length };
  return [{ type: MappingType.ValueToText, options }];
}

/** headroom_resource_level's values (thresholds.ts levelValue) as the levels' names and colors. */
export function levelMappings(): ValueMapping[] {
  const options: Record<string, { text: string; color: string; index: number }> = {};
  for (const level of LEVELS) options[String(levelValue(level))] = { text: level, color: LEVEL_COLORS[level], index: levelValue(level) };
  return [{ type: MappingType.ValueToText, options }];
}

export function healthMappings(): ValueMapping[] {
  return [{ type: MappingType.ValueToText, options: { '1': { text: 'ok', color: 'green', index: 0 }, '0': { text: 'failing', color: 'red', index: 1 } } }];
}
