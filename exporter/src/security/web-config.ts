// The --web.config.file format of Prometheus's exporter-toolkit: TLS and bcrypt basic auth.
// Parsing (YAML text to a validated object) is pure; loadWebConfig adds the file reads.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { FlagError } from '../flags.js';

/** A configuration file that cannot be used; start-up stops with its one-line message (exit code 2). */
export class WebConfigError extends FlagError {}

/** exporter-toolkit's client_auth_type values, named after Go's tls.ClientAuthType. */
export const CLIENT_AUTH_TYPES = ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS = { TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type TlsVersionName = keyof typeof TLS_VERSIONS;

/** Modular crypt format of bcrypt: $2a$, $2b$ or $2y$ (htpasswd -B), two-digit cost, 22 salt + 31 hash characters. */
export const BCRYPT_HASH = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;

const tlsVersion = z.enum(['TLS10', 'TLS11', 'TLS12', 'TLS13'])
  .refine((version) => version === 'TLS12' || version === 'TLS13', 'TLS 1.0 and 1.1 are not accepted; use TLS12 or TLS13');

const tlsServerConfigSchema = z.strictObject({
  cert_file: z.string().min(1),
  key_file: z.string().min(1),
  client_auth_type: z.enum(CLIENT_AUTH_TYPES).default('NoClientCert'),
  client_ca_file: z.string().min(1).optional(),
  min_version: tlsVersion.default('TLS12'),
  max_version: tlsVersion.optional(),
}).superRefine((tls, context) => {
  const verifies = tls.client_auth_type === 'VerifyClientCertIfGiven' || tls.client_auth_type === 'RequireAndVerifyClientCert';
  if (verifies && tls.client_ca_file === undefined) {
    context.addIssue({ code: 'custom', path: ['client_ca_file'], message: `client_auth_type ${tls.client_auth_type} needs client_ca_file` });
  }
  if (tls.max_version !== undefined && tls.max_version < tls.min_version) {
    context.addIssue({ code: 'custom', path: ['max_version'], message: 'max_version is below min_version' });
  }
});

const webConfigSchema = z.strictObject({
  tls_server_config: tlsServerConfigSchema.optional(),
  basic_auth_users: z.record(
    z.string().min(1).refine((user) => !user.includes(':'), 'a user name cannot contain ":"'),
    z.string().regex(BCRYPT_HASH, 'not a bcrypt hash (htpasswd -nBC 10 USER)'),
  ).optional(),
});

type ParsedWebConfig = z.infer<typeof webConfigSchema>;

export interface TlsFiles {
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
  clientAuthType: ClientAuthType;
  minVersion: (typeof TLS_VERSIONS)[TlsVersionName];
  maxVersion?: (typeof TLS_VERSIONS)[TlsVersionName];
}

export interface WebConfig {
  tls?: TlsFiles;
  /** User name to bcrypt hash; absent when basic auth is off. */
  basicAuthUsers?: Map<string, string>;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const where = issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `;
  if (issue.code === 'unrecognized_keys') return `${where}unknown or unsupported key ${issue.keys.map((key) => JSON.stringify(key)).join(', ')}`;
  return `${where}${issue.message}`;
}

/** Validates the YAML text; relative file names are resolved against `baseDir`, as exporter-toolkit does. */
export function parseWebConfig(text: string, baseDir: string): WebConfig {
  let document: unknown;
  try {
    document = parseYaml(text, { prettyErrors: false, maxAliasCount: 100 });
  } catch (error) {
    throw new WebConfigError(`not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const result = webConfigSchema.safeParse(document ?? {});
  if (!result.success) throw new WebConfigError(describeIssue(result.error.issues[0]!));
  return fromParsed(result.data, baseDir);
}

function fromParsed(parsed: ParsedWebConfig, baseDir: string): WebConfig {
  const resolve = (file: string) => path.resolve(baseDir, file);
  const config: WebConfig = {};
  const tls = parsed.tls_server_config;
  if (tls) {
    config.tls = {
      certFile: resolve(tls.cert_file),
      keyFile: resolve(tls.key_file),
      clientAuthType: tls.client_auth_type,
      minVersion: TLS_VERSIONS[tls.min_version as TlsVersionName],
    };
    if (tls.client_ca_file !== undefined) config.tls.clientCaFile = resolve(tls.client_ca_file);
    if (tls.max_version !== undefined) config.tls.maxVersion = TLS_VERSIONS[tls.max_version as TlsVersionName];
  }
  if (parsed.basic_auth_users !== undefined) {
    if (Object.keys(parsed.basic_auth_users).length === 0) throw new WebConfigError('basic_auth_users: lists no user');
    config.basicAuthUsers = new Map(Object.entries(parsed.basic_auth_users));
  }
  return config;
}

export interface TlsMaterial { cert: Buffer; key: Buffer; ca?: Buffer }

export interface LoadedWebConfig extends WebConfig { tlsMaterial?: TlsMaterial }

async function readConfigured(file: string, what: string, configFile: string): Promise<Buffer> {
  try {
    const content = await readFile(file);
    if (content.length === 0) throw new Error('file is empty');
    return content;
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new WebConfigError(`web config ${configFile}: cannot read ${what} ${file}: ${reason}`);
  }
}

/** Reads and validates the file, and reads the certificate, key and CA files it names. */
export async function loadWebConfig(configFile: string): Promise<LoadedWebConfig> {
  let text: string;
  try {
    text = await readFile(configFile, 'utf8');
  } catch (error) {
    throw new WebConfigError(`web config ${configFile}: cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let config: WebConfig;
  try {
    config = parseWebConfig(text, path.dirname(path.resolve(configFile)));
  } catch (error) {
    if (error instanceof WebConfigError) throw new WebConfigError(`web config ${configFile}: ${error.message}`);
    throw error;
  }
  if (!config.tls) return config;
  const [cert, key, ca] = await Promise.all([
    readConfigured(config.tls.certFile, 'cert_file', configFile),
    readConfigured(config.tls.keyFile, 'key_file', configFile),
    config.tls.clientCaFile === undefined ? undefined : readConfigured(config.tls.clientCaFile, 'client_ca_file', configFile),
  ]);
  return { ...config, tlsMaterial: ca === undefined ? { cert, key } : { cert, key, ca } };
}
