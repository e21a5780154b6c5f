/**
 * Pinned host keys, OpenSSH known_hosts format: plain (`name,[addr]:port type
 * key`) and hashed (`|1|salt|hmac`) host fields. A host is verified when its
 * presented key equals a pinned key for any of its names.
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export interface PinnedKey {
  hosts: string[];
  hashed: Array<{ salt: Buffer; hash: Buffer }>;
  type: string;
  key: Buffer;
}

export function parseKnownHosts(text: string): PinnedKey[] {
  const keys: PinnedKey[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const [hostField, type, key] = line.split(/\s+/);
    if (!hostField || !type || !key) continue;
    const hosts: string[] = [];
    const hashed: PinnedKey['hashed'] = [];
    for (const h of hostField.split(',')) {
      const m = h.match(/^\|1\|([^|]+)\|(.+)$/);
      if (m) hashed.push({ salt: Buffer.from(m[1]!, 'base64'), hash: Buffer.from(m[2]!, 'base64') });
      else hosts.push(h.toLowerCase());
    }
    keys.push({ hosts, hashed, type, key: Buffer.from(key, 'base64') });
  }
  return keys;
}

/** The names a host may be pinned under: `name` for port 22, `[name]:port` otherwise. */
export function hostPatterns(names: readonly string[], port: number): string[] {
  return names.map((n) => (port === 22 ? n.toLowerCase() : `[${n.toLowerCase()}]:${port}`));
}

function matches(entry: PinnedKey, pattern: string): boolean {
  if (entry.hosts.includes(pattern)) return true;
  return entry.hashed.some(({ salt, hash }) => createHmac('sha1', salt).update(pattern).digest().equals(hash));
}

export type HostKeyVerdict = 'match' | 'mismatch' | 'unknown';

export function verifyHostKey(pinned: PinnedKey[], patterns: readonly string[], presented: Buffer): HostKeyVerdict {
  const candidates = pinned.filter((entry) => patterns.some((p) => matches(entry, p)));
  if (candidates.length === 0) return 'unknown';
  return candidates.some((entry) => entry.key.equals(presented)) ? 'match' : 'mismatch';
}

export async function loadKnownHosts(path: string): Promise<PinnedKey[]> {
  return parseKnownHosts(await readFile(path, 'utf8').catch(() => ''));
}
