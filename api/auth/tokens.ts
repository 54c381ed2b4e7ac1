// Bearer tokens and roles. Tokens are kept only as SHA-256 digests, and a presented token
// is compared against every digest with timingSafeEqual, so neither the match position nor
// a common prefix shows in the response time.
import { createHash, timingSafeEqual } from 'node:crypto';

export const ROLES = ['viewer', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export function roleAtLeast(role: Role, required: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(required);
}

export interface TokenTable {
  /** The role of the token, or null when it is unknown. */
  lookup(token: string): Role | null;
  readonly size: number;
}

/** Parses `role:token,role:token`; a role may have several tokens (rotation). */
export function parseTokens(text: string): TokenTable {
  const entries: Array<{ digest: Buffer; role: Role }> = [];
  for (const part of text.split(',').map((item) => item.trim()).filter(Boolean)) {
    const colon = part.indexOf(':');
    const role = part.slice(0, colon) as Role;
    const token = part.slice(colon + 1);
    if (colon < 1 || !ROLES.includes(role)) throw new Error(`each entry must be <${ROLES.join('|')}>:<token>`);
    if (token.length < 8) throw new Error(`a ${role} token is shorter than 8 characters`);
    entries.push({ digest: digest(token), role });
  }
  if (entries.length === 0) throw new Error('no tokens given (set RUNLENS_API_AUTH=off to run without auth)');
  const digests = new Set(entries.map((entry) => entry.digest.toString('hex')));
  if (digests.size !== entries.length) throw new Error('the same token appears twice');
  return Object.freeze({
    size: entries.length,
    lookup(token: string): Role | null {
      const presented = digest(token);
      let found: Role | null = null;
      for (const entry of entries) {
        // No early exit: every entry is compared whatever matched.
        if (timingSafeEqual(entry.digest, presented)) found = entry.role;
      }
      return found;
    },
  });
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
