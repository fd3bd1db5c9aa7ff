// The page's (and the report's) style sheet. The level colours come from the thresholds module, as the
// dashboards' do.
import { LEVEL_COLORS, LEVELS } from '../thresholds.js';

const levelRules = LEVELS.map((level) => `.level-${level}{--level:${LEVEL_COLORS[level].rgb}}`).join('\n');

export function pageStyles(): string {
  return `${levelRules}
:root{--text:#1d1f24;--muted:#4f5563;--line:#d9dce3;--panel:#fff;--back:#f4f5f7;--accent:#1f60c4;--focus:#1f60c4;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--text);background:var(--back)}
body{margin:0}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--focus);outline-offset:2px}
[tabindex="-1"]:focus{outline:none}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
header.top{display:flex;flex-wrap:wrap;align-items:baseline;gap:.5rem 1.5rem;padding:.75rem 1.25rem;background:var(--panel);border-bottom:1px solid var(--line)}
header.top h1{font-size:1.25rem;margin:0}
header.top nav{display:flex;gap:1rem;font-size:.9rem}
main{padding:1rem 1.25rem}
.toolbar{display:flex;flex-wrap:wrap;align-items:center;gap:.75rem 1.5rem;margin-bottom:.75rem}
.toolbar h2{font-size:1.1rem;margin:0}
.toolbar input{font:inherit;padding:.3rem .5rem;border:1px solid #8a909c;border-radius:4px;min-width:16rem}
.status{color:var(--muted);font-size:.85rem;margin:0}
.legend{display:flex;gap:.5rem;font-size:.8rem;color:var(--muted);align-items:center}
table.rows{width:100%;border-collapse:collapse;background:var(--panel);font-size:.85rem}
table.rows th,table.rows td{padding:.35rem .5rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
table.rows thead th{position:sticky;top:0;background:#eceef2;font-weight:600;z-index:1}
table.rows tbody tr{cursor:pointer}
table.rows tbody tr:hover{background:#f0f4fb}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.name a{font-weight:600;text-decoration:none}
.name a:hover{text-decoration:underline}
.sub{display:block;color:var(--muted);font-size:.78rem}
.badge{display:inline-block;min-width:4.5rem;text-align:center;padding:.1rem .4rem;border-radius:3px;font-size:.78rem;font-weight:600;color:#111;background:var(--level)}
.bar{position:relative;height:.5rem;min-width:7rem;background:#e3e5ea;border-radius:2px;margin-top:.2rem}
.bar .fill{position:absolute;left:0;top:0;bottom:0;border-radius:2px;background:var(--level)}
.bar .mark{position:absolute;top:-.15rem;bottom:-.15rem;width:2px;background:#39414f}
.bar .tick{position:absolute;top:0;bottom:0;width:1px;background:#9aa0ab}
details.why summary{cursor:pointer;color:var(--accent)}
details.why p{margin:.25rem 0 0;max-width:32rem;color:var(--text)}
.empty{padding:1rem;color:var(--muted)}
.detail-head{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1rem;margin-bottom:.75rem}
.detail-head h2{margin:0;font-size:1.2rem}
.ranges{display:flex;gap:.25rem}
.ranges button{font:inherit;font-size:.85rem;padding:.2rem .6rem;border:1px solid #8a909c;background:var(--panel);border-radius:4px;cursor:pointer}
.ranges button[aria-pressed="true"]{background:var(--accent);border-color:var(--accent);color:#fff}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.5rem 1rem;margin:0 0 1rem;padding:.75rem;background:var(--panel);border:1px solid var(--line)}
.facts div{margin:0}
.facts dt{color:var(--muted);font-size:.78rem}
.facts dd{margin:0;font-size:.9rem}
.chart{background:var(--panel);border:1px solid var(--line);padding:.5rem;margin-bottom:1rem}
.chart h3{font-size:.95rem;margin:.1rem 0 .4rem}
.chart .plot{min-height:240px}
.events{background:var(--panel);border-collapse:collapse;font-size:.85rem;margin-bottom:1rem}
.events th,.events td{padding:.25rem .5rem;border-bottom:1px solid var(--line);text-align:left}
pre.snippet{background:#1d1f24;color:#f4f5f7;padding:.75rem;overflow:auto;font-size:.85rem}
.reason{max-width:60rem}
.report section.container{background:var(--panel);border:1px solid var(--line);padding:.75rem 1rem;margin-bottom:1.25rem}
.report table.figures{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
.report table.figures th,.report table.figures td{padding:.2rem .6rem;border-bottom:1px solid var(--line);text-align:right}
.report table.figures th:first-child{text-align:left}
.shares{display:flex;height:.9rem;width:100%;max-width:30rem;border:1px solid var(--line)}
.shares span{background:var(--level)}
`;
}
