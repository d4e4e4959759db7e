/**
 * Time-sortable opaque ids for results and jobs (ULID layout: 10 Crockford base32 characters of milliseconds, then 16
 * of randomness). Within one millisecond the random part is incremented instead of redrawn, so ids made by one process
 * sort in creation order — history paging with `before=<id>` relies on that.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  let t = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[t % 32]! + out;
    t = Math.floor(t / 32);
  }
  return out;
}

function freshRandom(): number[] {
  return [...randomBytes(16)].map((b) => b % 32);
}

function increment(digits: number[]): number[] {
  const next = digits.slice();
  for (let i = next.length - 1; i >= 0; i--) {
    if (next[i]! < 31) {
      next[i]!++;
      return next;
    }
    next[i] = 0;
  }
  return freshRandom();
}

export function newId(now = Date.now()): string {
  if (now <= lastTime) {
    lastRandom = increment(lastRandom);
  } else {
    lastTime = now;
    lastRandom = freshRandom();
  }
  return encodeTime(Math.max(now, lastTime)) + lastRandom.map((d) => ALPHABET[d]).join('');
}

/** Whether `s` has the shape of an id made by newId (used to reject junk before it reaches a query). */
export function isId(s: string): boolean {
  return /^[0-9A-HJKMNP-TV-Z]{26}$/.test(s);
}

export function isSha256(s: string): boolean {
  return /^[0-9a-f]{64}$/.test(s);
}
