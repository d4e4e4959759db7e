/**
 * Access control. On a loopback address without tokens the API is open (a single user's workbench). Bound to any other
 * address the server refuses to start without tokens; with tokens every /api request needs one: `read` tokens may
 * GET, `write` tokens may do everything. EventSource cannot send headers, so GET requests may pass `?token=`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyRequest } from 'fastify';

import { InvalidArgumentError } from '../errors.js';
import { HttpProblem } from './problem.js';

export type Role = 'read' | 'write';

export interface TokenEntry {
  token: string;
  role: Role;
}

/** Parses `token[:role]` items (comma-separated in XSYS_TOKENS, repeatable --token). Role defaults to write. */
export function parseTokens(items: string[]): TokenEntry[] {
  const out: TokenEntry[] = [];
  for (const raw of items.flatMap((s) => s.split(','))) {
    const item = raw.trim();
    if (!item) continue;
    const at = item.lastIndexOf(':');
    const [token, role] = at > 0 && ['read', 'write'].includes(item.slice(at + 1)) ? [item.slice(0, at), item.slice(at + 1) as Role] : [item, 'write' as Role];
    if (token.length < 16) throw new InvalidArgumentError('--token', `a token must have at least 16 characters (got ${token.length})`, 'generate one with: openssl rand -hex 24');
    out.push({ token, role });
  }
  return out;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export class Authenticator {
  private readonly entries: { digest: Buffer; role: Role }[];

  constructor(tokens: TokenEntry[]) {
    this.entries = tokens.map((t) => ({ digest: digest(t.token), role: t.role }));
  }

  get enabled(): boolean {
    return this.entries.length > 0;
  }

  /** Throws 401/403 problems; returns the caller's role. */
  check(req: FastifyRequest): Role | undefined {
    if (!this.enabled) return undefined;
    const header = req.headers.authorization;
    let token: string | undefined;
    if (header?.startsWith('Bearer ')) token = header.slice(7).trim();
    else if (req.method === 'GET') token = (req.query as Record<string, unknown> | undefined)?.token as string | undefined;
    if (!token) throw new HttpProblem(401, 'unauthorized', 'Unauthorized', 'this server requires a token', 'send Authorization: Bearer <token>');
    const d = digest(token);
    // Compare hashes in constant time, against every entry, so timing reveals nothing about which token matched.
    let role: Role | undefined;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest)) role = role === 'write' ? role : e.role;
    if (!role) throw new HttpProblem(401, 'unauthorized', 'Unauthorized', 'unknown token');
    if (role === 'read' && req.method !== 'GET' && req.method !== 'HEAD') throw new HttpProblem(403, 'forbidden', 'Forbidden', `a read-only token cannot ${req.method} ${req.url.split('?')[0]}`, 'use a token with the write role');
    return role;
  }
}
