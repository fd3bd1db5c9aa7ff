// A Docker host as headroom reaches it: its engine's API (a unix socket, or HTTPS with TLS files) and the
// host's /proc and /sys, where the engine's containers' cgroups are read. Built once from the flags.
import { absolutePath } from './flags.js';

export type EngineAddress =
  | { kind: 'unix'; socketPath: string }
  | { kind: 'https'; url: URL };

/**
 * `unix:///var/run/docker.sock` or `https://HOST:PORT`; null for anything else. A TCP engine address without
 * TLS (`tcp://`, `http://`) is refused: the engine's API is root on its host.
 */
export function parseEngineAddress(raw: string): EngineAddress | null {
  if (raw.startsWith('unix://')) {
    const socketPath = raw.slice('unix://'.length);
    return absolutePath(socketPath) === null ? null : { kind: 'unix', socketPath };
  }
  try {
    const url = new URL(raw);
    return url.protocol === 'https:' && url.pathname === '/' ? { kind: 'https', url } : null;
  } catch {
    return null;
  }
}

export interface EngineTls { caFile?: string | undefined; certFile?: string | undefined; keyFile?: string | undefined }

export interface DockerHost {
  address: EngineAddress;
  tls: EngineTls;
  procfs: string;
  sysfs: string;
}

/** The --target.docker* and --path.* flags' values as a DockerHost. */
export function dockerHost(values: { targetDocker: EngineAddress; targetDockerTlsCa?: string | undefined; targetDockerTlsCert?: string | undefined; targetDockerTlsKey?: string | undefined; procfs: string; sysfs: string }): DockerHost {
  return {
    address: values.targetDocker,
    tls: { caFile: values.targetDockerTlsCa, certFile: values.targetDockerTlsCert, keyFile: values.targetDockerTlsKey },
    procfs: values.procfs,
    sysfs: values.sysfs,
  };
}
