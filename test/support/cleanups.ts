/**
 * Undo steps a test registers as it sets things up (stop a hub, close a port, pull a pty), run
 * last-first by `run()` in afterEach, so nothing is torn down while something set up after it runs.
 */
export class Cleanups {
  private readonly steps: (() => Promise<void> | void)[] = [];

  add(...steps: (() => Promise<void> | void)[]): void {
    this.steps.push(...steps);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step();
  }
}
