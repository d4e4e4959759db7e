import { expect } from 'vitest';

/** What `inject` needs: the server's Fastify instance (or anything that answers injected requests). */
interface Injectable {
  inject(opts: { url: string }): Promise<{ statusCode: number }>;
}

/**
 * Polls GET /api/health every 25 ms until `work` settles; returns the longest time between two answers. A blocked
 * event loop answers once, after the work, so its longest gap is the whole work time.
 */
export async function healthGapsDuring<T>(app: Injectable, work: Promise<T>): Promise<{ result: T; maxGapMs: number; answers: number; workMs: number }> {
  const t0 = performance.now();
  let done = false;
  let last = performance.now();
  let maxGapMs = 0;
  let answers = 0;
  const poll = (async () => {
    while (!done) {
      const res = await app.inject({ url: '/api/health' });
      expect(res.statusCode).toBe(200);
      const now = performance.now();
      maxGapMs = Math.max(maxGapMs, now - last);
      last = now;
      answers++;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  const result = await work.finally(() => (done = true));
  const workMs = performance.now() - t0;
  await poll;
  return { result, maxGapMs, answers, workMs };
}
