/**
 * A FIFO concurrency limit for explanations. Each explanation in flight holds its activations, relevances and PNG
 * buffers (hundreds of MB for a VGG-sized model), so a burst of clients must not start them all at once: the rest wait,
 * first come first served. On the bundled MNIST model a limit of 2–8 and no limit gave throughputs within the noise of
 * the shared 2-core machine (bench/service.ts), so the default (4 × cores) is about memory, not speed.
 */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter (active stays the same), else free it.
      if (next) next();
      else this.active--;
    }
  }
}
