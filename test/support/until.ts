/**
 * Resolves once `check` holds, for a condition another party drives through many network events
 * (a broker's acknowledgements, a hub process's log or database): re-checked every 10 ms up to a
 * deadline. Not a wait for time to pass: it returns as soon as the condition holds.
 */
export async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
