// STAND-IN for grafana/grafana-oss in tests with a private Docker engine: there is no Grafana binary in
// any registry these machines reach. It is NOT Grafana and renders nothing. It checks what the stack
// mounts for Grafana and answers the few API calls a test makes:
//   - at start: every provisioning file under $GF_PATHS_PROVISIONING (/etc/grafana/provisioning) of
//     datasources/ and dashboards/ exists; each dashboard provider's `path:` is a directory whose *.json
//     files parse and have a uid and a title; GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH exists; the data
//     directory ($GF_PATHS_DATA, /var/lib/grafana) is writable. Any failure: one line on stderr, exit 1
//     (Grafana also refuses to start on broken provisioning).
//   - GET /api/health: {"database": "ok", "version": "11.2.0", "commit": "stand-in", "standin": "..."}
//   - GET /api/search: the provisioned dashboards ({uid, title, type: "dash-db"})
//   - GET /api/dashboards/uid/{uid}: {dashboard, meta}
//   - GET /api/datasources: name, uid, type, url of each provisioned datasource (read line by line)
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';

const STANDIN = 'headroom test stand-in for grafana/grafana-oss (not Grafana)';
const provisioning = process.env.GF_PATHS_PROVISIONING ?? '/etc/grafana/provisioning';
const dataDir = process.env.GF_PATHS_DATA ?? '/var/lib/grafana';
const port = Number(process.env.GF_SERVER_HTTP_PORT ?? 3000);

function fail(message) {
  console.error(`grafana stand-in: ${message}`);
  process.exit(1);
}

function yamlFiles(dir) {
  if (!existsSync(dir)) fail(`provisioning directory ${dir} does not exist`);
  return readdirSync(dir).filter((name) => /\.ya?ml$/.test(name)).map((name) => path.join(dir, name));
}

/** `key: value` pairs of a YAML list (one mapping per `- ` item), enough for provisioning files. */
function listItems(text) {
  const items = [];
  for (const line of text.split('\n')) {
    const item = /^\s*-\s+(\w+):\s*(.*)$/.exec(line);
    const field = /^\s+(\w+):\s*(.*)$/.exec(line);
    if (item) items.push({ [item[1]]: item[2].replace(/^["']|["']$/g, '') });
    else if (field && items.length > 0 && field[2] !== '') items.at(-1)[field[1]] = field[2].replace(/^["']|["']$/g, '');
  }
  return items;
}

const datasources = [];
for (const file of yamlFiles(path.join(provisioning, 'datasources'))) {
  for (const source of listItems(readFileSync(file, 'utf8'))) {
    if (!source.name || !source.type) fail(`${file}: a datasource without name or type`);
    datasources.push({ id: datasources.length + 1, name: source.name, uid: source.uid ?? '', type: source.type, url: source.url ?? '', isDefault: source.isDefault === 'true' });
  }
}
if (datasources.length === 0) fail(`no datasource provisioned under ${provisioning}/datasources`);

const dashboards = new Map();
const providerFiles = yamlFiles(path.join(provisioning, 'dashboards'));
if (providerFiles.length === 0) fail(`no dashboard provider under ${provisioning}/dashboards`);
for (const file of providerFiles) {
  for (const provider of listItems(readFileSync(file, 'utf8'))) {
    const dir = provider.path;
    if (!dir || !existsSync(dir) || !statSync(dir).isDirectory()) fail(`${file}: provider ${provider.name} reads ${dir}, which is not a directory`);
    const jsonFiles = readdirSync(dir).filter((name) => name.endsWith('.json'));
    if (jsonFiles.length === 0) fail(`${file}: provider ${provider.name} finds no dashboard in ${dir}`);
    for (const name of jsonFiles) {
      let dashboard;
      try { dashboard = JSON.parse(readFileSync(path.join(dir, name), 'utf8')); } catch (error) { fail(`${path.join(dir, name)}: ${error.message}`); }
      if (!dashboard.uid || !dashboard.title) fail(`${path.join(dir, name)}: no uid or title`);
      dashboards.set(dashboard.uid, { dashboard, folder: provider.folder ?? '', file: path.join(dir, name) });
    }
  }
}
const home = process.env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH;
if (home && !existsSync(home)) fail(`GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH ${home} does not exist`);
try {
  accessSync(dataDir, constants.W_OK);
  writeFileSync(path.join(dataDir, '.standin-write-check'), 'ok');
  rmSync(path.join(dataDir, '.standin-write-check'));
} catch (error) {
  fail(`data directory ${dataDir} is not writable: ${error.message}`);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://grafana');
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', 'x-standin': 'grafana' });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === '/api/health') return send(200, { commit: 'stand-in', database: 'ok', version: '11.2.0', standin: STANDIN });
  if (url.pathname === '/api/search') {
    return send(200, [...dashboards.values()].map(({ dashboard, folder }) => ({ uid: dashboard.uid, title: dashboard.title, type: 'dash-db', folderTitle: folder, tags: dashboard.tags ?? [] })));
  }
  const match = /^\/api\/dashboards\/uid\/([^/]+)$/.exec(url.pathname);
  if (match) {
    const found = dashboards.get(match[1]);
    return found ? send(200, { dashboard: found.dashboard, meta: { provisioned: true, provisionedExternalId: path.basename(found.file), folderTitle: found.folder } }) : send(404, { message: 'Dashboard not found' });
  }
  if (url.pathname === '/api/datasources') return send(200, datasources);
  return send(404, { message: 'Not found', standin: STANDIN });
});
server.listen(port, '0.0.0.0', () => console.log(`${STANDIN}: ${datasources.length} datasource(s), ${dashboards.size} dashboard(s), listening on :${port}`));
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => { server.close(); process.exit(0); });
