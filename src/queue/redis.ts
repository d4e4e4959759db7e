/**
 * Redis connections of the queue (ioredis, as BullMQ uses). A first connection is probed with no retries so that a
 * Redis that is down at start-up is a clear error, not a silent wait; after that, connections reconnect forever (a
 * Redis restart during a job pauses the queue, it does not lose work: see dispatcher.ts's reconciliation).
 */
import { Redis } from 'ioredis';

import { XsysError } from '../errors.js';

/** `redis://host:port` (optionally with /db and user:password); anything else is refused before connecting. */
export function checkRedisUrl(url: string, flag: string): string {
  if (!/^rediss?:\/\/[^/\s]+(\/\d+)?$/.test(url)) throw new XsysError(`${flag}: '${redactRedis(url)}' is not a Redis URL`, { hint: 'use redis://host:port, e.g. redis://127.0.0.1:6379', exitCode: 2 });
  return url;
}

export function redactRedis(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

/** Fails with a clear error when Redis cannot be reached within `timeoutMs`. */
export async function probeRedis(url: string, timeoutMs = 3000): Promise<void> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: timeoutMs, retryStrategy: () => null, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new XsysError(`cannot reach Redis at ${redactRedis(url)}: ${(err as Error).message || 'connection failed'}`, { hint: 'start redis-server (or fix --queue); queue mode needs Redis ≥ 6.2', exitCode: 3 });
  } finally {
    probe.disconnect();
  }
}

/** A connection for BullMQ and our own keys: reconnects with a capped backoff, commands wait while it is down. */
export function redisConnection(url: string, onError?: (err: Error) => void): Redis {
  const r = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: (times) => Math.min(100 * times, 1000) });
  // ioredis reports every failed reconnect as an 'error' event; unhandled, it would crash the process.
  r.on('error', (err: Error) => onError?.(err));
  return r;
}
