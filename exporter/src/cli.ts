#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size --no-turbofan --no-sparkplug
// The `headroom` command: serve the exporter (default) or run a subcommand. Each command loads its modules
// only when run: the gate starts within a small descriptor limit, without the exporter's dependencies.
import { FlagError } from './flags.js';
import type { ServeConfig } from './config.js';
import type { ExtensionFactory } from './extension.js';

const USAGE = `usage: headroom [flags]
       headroom recommend [flags]   (see headroom recommend --help)
       headroom resize CONTAINER [flags]   (see headroom resize --help)
       headroom gate [flags]   (see headroom gate --help)
       headroom report [flags]   (see headroom report --help)

Serves container resource metrics (/metrics), health (/health), usage statistics (/statistics) and a live
page of every watched container (/, its JSON API under /api/v1/).`;

function fail(message: string): never {
  process.stderr.write(`headroom: ${message}\n`);
  process.exit(2);
}

/** The extensions the configuration asks for, in the order they start. */
async function extensionsFor(config: ServeConfig): Promise<ExtensionFactory[]> {
  const [{ securityExtension }, { targetHealthExtension }, { autosizeExtension, autosizeOffExtension }, { uiExtension }] = await Promise.all([
    import('./security/extension.js'), import('./health-target.js'), import('./autosize/extension.js'), import('./ui/extension.js'),
  ]);
  const extensions: ExtensionFactory[] = [securityExtension];
  // The statistics store (knex, a database driver, zod) is loaded only when it is on.
  if (config.statisticsEnabled) extensions.push((await import('./statistics/extension.js')).statisticsExtension);
  extensions.push(targetHealthExtension);
  if (config.dockerHost !== undefined) extensions.push(config.autosizeEnabled ? autosizeExtension : autosizeOffExtension);
  if (config.uiEnabled) extensions.push(uiExtension(config));
  return extensions;
}

async function serve(argv: string[]): Promise<void> {
  const [{ parseServeCommandLine, serveHelp }, { startExporter }, { VERSION }, { default: pino }] = await Promise.all([
    import('./config.js'), import('./serve.js'), import('./version.js'), import('pino'),
  ]);
  let parsed;
  try {
    parsed = parseServeCommandLine(argv, process.env);
  } catch (error) {
    if (error instanceof FlagError) fail(error.message);
    throw error;
  }
  if (parsed.help) { process.stdout.write(`${serveHelp(USAGE)}\n`); return; }
  if (parsed.version) { process.stdout.write(`headroom ${VERSION}\n`); return; }
  if (parsed.positionals.length > 0) fail(`unknown command ${JSON.stringify(parsed.positionals[0])} (see --help)`);
  const { config } = parsed;
  const log = pino({ level: config.logLevel });
  let exporter;
  try {
    exporter = await startExporter(config, await extensionsFor(config), log);
  } catch (error) {
    if (error instanceof FlagError) fail(error.message);
    log.fatal({ err: (error as Error).message }, 'cannot start');
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    exporter.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

const commands = new Map<string, (argv: string[]) => Promise<void>>([
  ['recommend', async (argv) => (await import('./recommend/command.js')).recommendCommand(argv)],
  ['resize', async (argv) => (await import('./resize/command.js')).resizeCommand(argv)],
  ['report', async (argv) => (await import('./report/command.js')).reportCommand(argv)],
  ['gate', async (argv) => (await import('./gate/command.js')).gateCommand(argv)],
]);
const [first, ...rest] = process.argv.slice(2);
const command = first === undefined ? undefined : commands.get(first);
if (command) await command(rest);
else await serve(process.argv.slice(2));
