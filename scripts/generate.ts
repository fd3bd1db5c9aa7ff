// The one generator of every committed generated file (`make generate`), and of a site's own copies:
//   node dist/scripts/generate.js                 write every generated file
//   node dist/scripts/generate.js --check         exit 1 naming each file that differs from a fresh generation
//   node dist/scripts/generate.js --rules [--runbook-base-url=URL] [--time-scale=N] --out=FILE
//                                                 the alert rules with runbook links under URL, every `for` divided by N
//   node dist/scripts/generate.js --alertmanager-site=ENV_FILE... [--time-scale=N] --out=FILE
//                                                 an alertmanager.yml for a site (HEADROOM_ALERT_* lines; a later
//                                                 file's line wins), timings divided by N
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { alertingFiles, REPOSITORY_ROOT, renderAlertmanager, renderRules, siteFromEnvText, SiteError } from '../alerting-rules/files.js';
import { dashboardFiles } from '../dashboards/src/files.js';

/** Every committed generated file, by path from the repository root. */
export function generatedFiles(): Record<string, string> {
  return { ...alertingFiles(), ...dashboardFiles() };
}

/** The generated files whose committed copy differs from a fresh generation. */
export function staleFiles(root = REPOSITORY_ROOT): string[] {
  return Object.entries(generatedFiles()).filter(([file, fresh]) => {
    try {
      return readFileSync(path.join(root, file), 'utf8') !== fresh;
    } catch {
      return true;
    }
  }).map(([file]) => file);
}

function fail(message: string): number {
  process.stderr.write(`generate: ${message}\n`);
  return 2;
}

function main(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        check: { type: 'boolean', default: false },
        'alertmanager-site': { type: 'string', multiple: true },
        rules: { type: 'boolean', default: false },
        'runbook-base-url': { type: 'string' },
        'time-scale': { type: 'string' },
        out: { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    return fail((error as Error).message);
  }
  const sites = values['alertmanager-site'];
  const site = sites?.join(', ');
  const runbookBaseUrl = values['runbook-base-url'];
  const rules = values.rules || runbookBaseUrl !== undefined;
  let timeScale = 1;
  if (values['time-scale'] !== undefined) {
    timeScale = Number(values['time-scale']);
    if (!(timeScale >= 1)) return fail(`--time-scale: expected a number of at least 1, got ${JSON.stringify(values['time-scale'])}`);
    if (!rules && site === undefined) return fail('--time-scale goes with --rules or --alertmanager-site');
  }
  if (site !== undefined || rules) {
    if (site !== undefined && rules) return fail('--alertmanager-site and --rules write different files: one at a time');
    if (!values.out) return fail(`--${site !== undefined ? 'alertmanager-site' : 'rules'} needs --out=FILE`);
    let contents: string;
    try {
      contents = site !== undefined
        ? renderAlertmanager({ site: siteFromEnvText(sites!.map((file) => readFileSync(file, 'utf8')).join('\n')), timeScale })
        : renderRules({ timeScale, ...(runbookBaseUrl === undefined ? {} : { runbookBaseUrl }) });
    } catch (error) {
      if (error instanceof SiteError || (error as NodeJS.ErrnoException).code === 'ENOENT') return fail(`${site}: ${(error as Error).message}`);
      throw error;
    }
    writeFileSync(values.out, contents);
    return 0;
  }
  if (values.check) {
    const stale = staleFiles();
    for (const file of stale) process.stderr.write(`${file} differs from a fresh generation: run \`make generate\`\n`);
    return stale.length === 0 ? 0 : 1;
  }
  for (const [file, contents] of Object.entries(generatedFiles())) {
    const target = path.join(REPOSITORY_ROOT, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, contents);
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
