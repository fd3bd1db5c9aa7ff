// The PromQL of every dashboard panel, with Grafana's variables and macros substituted as Grafana would.
import { parser } from '@prometheus-io/lezer-promql';
import { dashboards } from '../../dashboards/src/files.js';

export interface PanelQuery { dashboard: string; panel: string; refId: string; expr: string }

interface JsonPanel { type: string; title: string; targets?: { expr?: string; refId?: string }[]; panels?: JsonPanel[] }

export function panelQueries(): PanelQuery[] {
  const queries: PanelQuery[] = [];
  for (const [name, dashboard] of Object.entries(dashboards())) {
    const visit = (panel: JsonPanel) => {
      for (const target of panel.targets ?? []) queries.push({ dashboard: name, panel: panel.title, refId: target.refId ?? '?', expr: target.expr ?? '' });
      for (const inner of panel.panels ?? []) visit(inner);
    };
    for (const panel of (dashboard.panels ?? []) as unknown as JsonPanel[]) visit(panel);
  }
  return queries;
}

/** The PromQL of every dashboard annotation (events: they have data only when something happened). */
export function annotationQueries(): PanelQuery[] {
  const queries: PanelQuery[] = [];
  for (const [name, dashboard] of Object.entries(dashboards())) {
    for (const annotation of ((dashboard as { annotations?: { list?: Array<{ name: string; expr?: string }> } }).annotations?.list ?? [])) {
      if (annotation.expr) queries.push({ dashboard: name, panel: `annotation ${annotation.name}`, refId: 'annotation', expr: annotation.expr });
    }
  }
  return queries;
}

/** Values for Grafana's variables and macros; every `$name` and `${name}` in a query must have one. */
export type Substitutions = Record<string, string>;

export function substitute(expr: string, values: Substitutions): string {
  return expr.replace(/\$\{(\w+)\}|\$(\w+)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare!;
    const value = values[name];
    if (value === undefined) throw new Error(`no value for ${whole} in ${expr}`);
    return value;
  });
}

export interface SyntaxNode { name: string; text: string; parent: SyntaxNode | null; children: SyntaxNode[] }

/** The lezer parse tree as plain nodes; `errors` lists the text of every error node. */
export function parsePromql(expr: string): { root: SyntaxNode; errors: string[] } {
  const tree = parser.parse(expr);
  const errors: string[] = [];
  const stack: SyntaxNode[] = [];
  let root: SyntaxNode | undefined;
  tree.iterate({
    enter(node) {
      const current: SyntaxNode = { name: node.name, text: expr.slice(node.from, node.to), parent: stack[stack.length - 1] ?? null, children: [] };
      if (node.type.isError) errors.push(`error at ${node.from}: ${JSON.stringify(expr.slice(Math.max(0, node.from - 20), node.to + 20))}`);
      current.parent?.children.push(current);
      root ??= current;
      stack.push(current);
    },
    leave() { stack.pop(); },
  });
  return { root: root!, errors };
}

export function* walk(node: SyntaxNode): Generator<SyntaxNode> {
  yield node;
  for (const child of node.children) yield* walk(child);
}
