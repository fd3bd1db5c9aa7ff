#!/usr/bin/env node
// Prints the sizes the local stack starts with, one KEY=VALUE a line, for `make up`:
//   node compose/stack-env.mjs [--size=small|medium|large] [--env-path=.env]
// Each of MEMORY_LIMIT, CPU_LIMIT, MEMORY_RESERVATION, CPU_RESERVATION comes from the first of:
//   1. the environment (`make up MEMORY_LIMIT=3072M`, or exported in the shell),
//   2. the env file (`.env`, written by `make tune`),
//   3. the tier named by --size (exporter/src/thresholds.ts TIERS),
//   4. the default tier (the seed's 2048M, 2.0, 512M, 0.5).
// Where a value overrides the chosen tier, a note goes to stderr. Needs the build (dist/).
// @ts-check
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, parseEnv } from 'node:util';
import { DEFAULT_TIER, TIERS, tierByName } from '../dist/exporter/src/thresholds.js';
import { sizingVariables } from '../dist/exporter/src/recommend/envfile.js';

export const SIZE_VARIABLES = ['MEMORY_LIMIT', 'CPU_LIMIT', 'MEMORY_RESERVATION', 'CPU_RESERVATION'];

/**
 * Resolves each size variable by the precedence above.
 * @param {{ size?: string, environment: Record<string, string | undefined>, envFile: Record<string, string> }} sources
 */
export function resolveStackEnv({ size, environment, envFile }) {
  const tier = size ? tierByName(size) : DEFAULT_TIER;
  if (!tier) throw new Error(`SIZE must be one of ${TIERS.map((candidate) => candidate.name).join(', ')}, not ${JSON.stringify(size)}`);
  const fromTier = sizingVariables(tier);
  /** @type {Record<string, string>} */
  const values = {};
  /** @type {Record<string, string>} */
  const origins = {};
  for (const name of SIZE_VARIABLES) {
    const [value, origin] = environment[name] ? [environment[name], 'environment']
      : envFile[name] ? [envFile[name], 'env file']
        : [fromTier[/** @type {keyof typeof fromTier} */ (name)], size ? `SIZE=${tier.name}` : `default tier ${tier.name}`];
    values[name] = value;
    origins[name] = origin;
  }
  return { tier: tier.name, values, origins };
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const { values: options } = parseArgs({ options: { size: { type: 'string', default: '' }, 'env-path': { type: 'string', default: '.env' } } });
  const envFilePath = options['env-path'] ?? '.env';
  const envFile = existsSync(envFilePath) ? parseEnv(readFileSync(envFilePath, 'utf8')) : {};
  try {
    const resolved = resolveStackEnv({ size: options.size || undefined, environment: process.env, envFile: /** @type {Record<string, string>} */ (envFile) });
    for (const name of SIZE_VARIABLES) {
      const origin = resolved.origins[name];
      if (options.size && origin !== `SIZE=${resolved.tier}`) process.stderr.write(`stack-env: ${name}=${resolved.values[name]} from ${origin === 'env file' ? envFilePath : `the ${origin}`} overrides SIZE=${resolved.tier}\n`);
      process.stdout.write(`${name}=${resolved.values[name]}\n`);
    }
  } catch (error) {
    process.stderr.write(`stack-env: ${/** @type {Error} */ (error).message}\n`);
    process.exit(2);
  }
}
