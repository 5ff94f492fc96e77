/**
 * The protocol between a benchmark and the broker process it measures: the child sends
 * `{ ready: port }` once listening, answers `{ rss }` to 'rss' and exits on 'stop'.
 */
export type ParentMessage = 'rss' | 'stop';
export interface Usage {
  rss: number;
  heapUsed: number;
  /** Memory outside the V8 heap: buffers, SQLite, native addons. */
  external: number;
  cpuUs: number;
}
export type ChildMessage = { ready: number } | Usage | { stopped: true };

export function serveParent(port: number, stop: () => Promise<void>): void {
  const send = (m: ChildMessage): void => {
    process.send?.(m);
  };
  process.on('message', (m: ParentMessage) => {
    if (m === 'rss') {
      const cpu = process.cpuUsage();
      const mem = process.memoryUsage();
      send({ rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, cpuUs: cpu.user + cpu.system });
    } else {
      void stop().then(() => {
        send({ stopped: true });
        process.exit(0);
      });
    }
  });
  send({ ready: port });
}
