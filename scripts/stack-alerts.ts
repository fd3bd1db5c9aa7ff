// The local stack's Alertmanager configuration at `make up`: compose/alertmanager-site.env, with the demo
// compose/alertmanager-demo.env, then the HEADROOM_ALERT_* lines of the stack's .env, then the environment
// (a later one wins), rendered by the one generator (alerting-rules/files.ts) and checked with amtool.
// In .env the two secret files are paths on this machine; the stack mounts them into Alertmanager's container.
//   node dist/scripts/stack-alerts.js --env-path=.env [--demo] --out=compose/alertmanager.local.yml
// Prints the compose variables (KEY=VALUE lines) that mount the configuration and the secrets; on a bad
// value, a missing secret file or amtool's refusal, one line and exit 2.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, parseEnv } from 'node:util';
import { COMPOSE_DEMO_SITE_FILE, COMPOSE_SITE_FILE, REPOSITORY_ROOT, renderAlertmanager, siteFromEnvText, SiteError } from '../alerting-rules/files.js';

/** Where the stack's Alertmanager container finds each secret file .env names. */
export const SECRET_MOUNTS = {
  HEADROOM_ALERT_SMTP_PASSWORD_FILE: { target: '/etc/alertmanager/secrets/smtp-password', variable: 'ALERTMANAGER_SMTP_PASSWORD_SOURCE' },
  HEADROOM_ALERT_SMS_TOKEN_FILE: { target: '/etc/alertmanager/secrets/sms-gateway-token', variable: 'ALERTMANAGER_SMS_TOKEN_SOURCE' },
} as const;

type SecretVariable = keyof typeof SECRET_MOUNTS;

export interface StackSite {
  /** The site's HEADROOM_ALERT_* variables as Alertmanager's container sees them. */
  variables: Record<string, string>;
  /** The compose variables that mount each secret file the user named: host path by compose variable. */
  mounts: Record<string, string>;
}

/** The HEADROOM_ALERT_* variables of an environment or env file. */
export function alertVariables(source: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(source).filter((entry): entry is [string, string] => entry[0].startsWith('HEADROOM_ALERT_') && entry[1] !== undefined));
}

/**
 * Lays the layers over each other (a later one wins). A secret file named by a user layer (.env, the
 * environment) is a path on this machine, relative to `baseDir` when relative: it is mounted, and the site
 * names the mount's target instead.
 */
export function stackSite(siteLayers: Record<string, string>[], userLayers: Record<string, string>[], baseDir: string): StackSite {
  const variables: Record<string, string> = Object.assign({}, ...siteLayers);
  const user: Record<string, string> = Object.assign({}, ...userLayers);
  const mounts: Record<string, string> = {};
  for (const [name, value] of Object.entries(user)) {
    const mount = SECRET_MOUNTS[name as SecretVariable];
    if (mount === undefined || value === '') {
      variables[name] = value;
      continue;
    }
    mounts[mount.variable] = path.resolve(baseDir, value);
    variables[name] = mount.target;
  }
  return { variables, mounts };
}

/** The env file text of variables, for the generator. */
export function envText(variables: Record<string, string>): string {
  return Object.entries(variables).map(([name, value]) => `${name}=${JSON.stringify(value)}\n`).join('');
}

function readEnvFile(file: string): Record<string, string> {
  return existsSync(file) ? parseEnv(readFileSync(file, 'utf8')) as Record<string, string> : {};
}

/** A secret file that cannot be mounted: one line, or undefined. */
function secretProblem(variable: string, file: string): string | undefined {
  try {
    if (!statSync(file).isFile()) return `${variable}: ${file} is not a file`;
    accessSync(file, constants.R_OK);
    return undefined;
  } catch (error) {
    return `${variable}: ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`;
  }
}

function main(argv: string[]): number {
  const fail = (message: string) => {
    process.stderr.write(`make up: alerts: ${message}\n`);
    return 2;
  };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { 'env-path': { type: 'string', default: '.env' }, demo: { type: 'boolean', default: false }, out: { type: 'string' } }, strict: true }));
  } catch (error) {
    return fail((error as Error).message);
  }
  if (!values.out) return fail('--out=FILE is needed');
  const envFile = path.resolve(values['env-path']);
  const siteLayers = [COMPOSE_SITE_FILE, ...(values.demo ? [COMPOSE_DEMO_SITE_FILE] : [])].map((file) => readEnvFile(path.join(REPOSITORY_ROOT, file)));
  const { variables, mounts } = stackSite(siteLayers, [alertVariables(readEnvFile(envFile)), alertVariables(process.env)], path.dirname(envFile));
  for (const [name, mount] of Object.entries(SECRET_MOUNTS)) {
    const source = mounts[mount.variable];
    const problem = source === undefined ? undefined : secretProblem(name, source);
    if (problem !== undefined) return fail(problem);
  }
  let contents: string;
  try {
    contents = renderAlertmanager({ site: siteFromEnvText(envText(variables)) });
  } catch (error) {
    if (error instanceof SiteError) return fail(`${envFile}: ${error.message}`);
    throw error;
  }
  writeFileSync(values.out, contents);
  const check = spawnSync('amtool', ['check-config', values.out], { encoding: 'utf8' });
  if (check.error) return fail(`amtool: ${check.error.message} (install prometheus-alertmanager: make system-deps)`);
  if (check.status !== 0) {
    const reason = `${check.stdout}\n${check.stderr}`.split('\n').map((line) => line.trim()).find((line) => /FAILED|error/i.test(line)) ?? `exit ${check.status}`;
    return fail(`amtool check-config ${values.out}: ${reason}`);
  }
  const composeDir = path.join(REPOSITORY_ROOT, 'compose');
  process.stdout.write(`ALERTMANAGER_CONFIG=${path.relative(composeDir, path.resolve(values.out))}\n`);
  for (const [variable, source] of Object.entries(mounts)) process.stdout.write(`${variable}=${source}\n`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
