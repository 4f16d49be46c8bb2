/**
 * A job run every `intervalMs` in this process (0: never by timer; tests call `run()`), one run at
 * a time: a call while one runs joins it. `stop()` stops the timer, tells the run (`onStop`) and
 * waits for it. `work` must not throw: it logs and answers for itself.
 */
export interface Periodic<T> {
  run(): Promise<T>;
  stop(): Promise<void>;
}

export function startPeriodic<T>(intervalMs: number, work: () => Promise<T>, onStop?: () => void): Periodic<T> {
  let running: Promise<T> | undefined;
  const run = (): Promise<T> => {
    running ??= work().finally(() => { running = undefined; });
    return running;
  };
  const timer = intervalMs > 0 ? setInterval(() => void run(), intervalMs) : undefined;
  timer?.unref();
  return {
    run,
    async stop() {
      if (timer) clearInterval(timer);
      onStop?.();
      await running;
    },
  };
}
