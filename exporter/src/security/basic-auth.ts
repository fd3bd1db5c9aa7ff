// HTTP basic auth against bcrypt hashes, with the same bcrypt work for unknown users as for known ones.
import { createHmac, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { Credentials } from './basic-credentials.js';

function costOf(hash: string): number {
  return Number(hash.slice(4, 6));
}

/** Successful logins remembered, as exporter-toolkit does, so a scrape every few seconds does not pay bcrypt each time. */
const CACHE_SIZE = 100;

export class BasicAuthVerifier {
  /** Compared against for unknown users, at the highest cost configured, so they cost as much as a known user. */
  private readonly dummyHash: string;
  private readonly cacheKey = randomBytes(32);
  private readonly verified = new Set<string>();

  constructor(private readonly users: ReadonlyMap<string, string>) {
    const cost = Math.max(...[...users.values()].map(costOf));
    this.dummyHash = bcrypt.hashSync(randomBytes(16).toString('hex'), cost);
  }

  async verify(credentials: Credentials): Promise<boolean> {
    const hash = this.users.get(credentials.user);
    // The cache key binds user, password and the configured hash; an HMAC under a per-process key keeps no password in memory.
    const key = createHmac('sha256', this.cacheKey).update(`${credentials.user}\0${credentials.password}\0${hash ?? ''}`).digest('base64');
    if (hash !== undefined && this.verified.has(key)) return true;
    const matches = await bcrypt.compare(credentials.password, hash ?? this.dummyHash);
    if (!matches || hash === undefined) return false;
    if (this.verified.size >= CACHE_SIZE) this.verified.delete(this.verified.values().next().value!);
    this.verified.add(key);
    return true;
  }
}
