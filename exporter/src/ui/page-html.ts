// The page's one HTML document. Every URL in it is relative, so it works behind a reverse proxy under a
// sub-path; no inline script or style (the page's Content-Security-Policy has no 'unsafe-inline').
import { VERSION } from '../version.js';

const escape = (text: string) => text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);

export interface PageLinks {
  telemetryPath: string;
  assetsVersion: string;
  /** The browser modules app.js imports, fetched at once rather than one import after another. */
  modules: readonly string[];
}

export function pageHtml({ telemetryPath, assetsVersion, modules }: PageLinks): string {
  const asset = (name: string) => `assets/${assetsVersion}/${name}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>headroom</title>
<link rel="icon" href="${asset('icon.svg')}" type="image/svg+xml">
<link rel="stylesheet" href="${asset('uPlot.min.css')}">
<link rel="stylesheet" href="${asset('page.css')}">
<script defer src="${asset('uPlot.iife.min.js')}"></script>
<script type="module" src="${asset('app.js')}"></script>
${modules.map((name) => `<link rel="modulepreload" href="${asset(name)}">`).join('\n')}
</head>
<body>
<header class="top">
<h1>headroom</h1>
<nav aria-label="Exporter">
<a href="${escape(telemetryPath.replace(/^\/+/, ''))}">Metrics</a>
<a href="health">Health</a>
<a href="api/v1/">API</a>
</nav>
<p class="status" id="status" role="status" aria-live="polite">Loading…</p>
</header>
<main id="main">
<section id="overview" aria-labelledby="overview-title">
<div class="toolbar">
<h2 id="overview-title">Containers</h2>
<label>Filter <input id="filter" type="search" placeholder="name, project, service or level" autocomplete="off"></label>
<p class="legend" id="legend"></p>
</div>
<table class="rows" id="rows">
<caption class="visually-hidden">Every watched container, worst level first. Open one for its charts.</caption>
<thead><tr>
<th scope="col">Level</th>
<th scope="col">Container</th>
<th scope="col">Memory (working set of limit)</th>
<th scope="col">CPU (of limit)</th>
<th scope="col" class="num">OOM kills</th>
<th scope="col" class="num">Restarts</th>
<th scope="col">Last exit</th>
<th scope="col">Size</th>
<th scope="col">Last sizing</th>
</tr></thead>
<tbody></tbody>
</table>
<p class="empty" id="empty" hidden>No container matches.</p>
</section>
<section id="detail" aria-labelledby="detail-title" hidden></section>
</main>
<footer class="visually-hidden">headroom ${escape(VERSION)}</footer>
</body>
</html>
`;
}
