/** Something that emits events, and the event after which a condition may have changed. */
export type Wake = readonly [
  source: {
    on(event: string, listener: () => void): unknown;
    off(event: string, listener: () => void): unknown;
  },
  event: string,
];

/**
 * Resolves once `check` holds: checked now and again after each `wake` event (a client's message, a
 * socket's close, a callback the test emits). Nothing is polled; the deadline only turns a wait for
 * something that never comes into an error that names it.
 */
export function until(
  check: () => boolean,
  what: string,
  wake: readonly Wake[],
  timeoutMs = 15_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const [source, event] of wake) source.off(event, recheck);
    };
    const recheck = (): void => {
      if (!check()) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`timed out waiting for ${what}`));
    }, timeoutMs);
    for (const [source, event] of wake) source.on(event, recheck);
    recheck();
  });
}
