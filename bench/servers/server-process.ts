/**
 * The protocol between a benchmark and the broker process it measures: the child sends
 * `{ ready: port, http? }` once listening, answers `{ rss }` to 'rss' and exits on 'stop'.
 */
export type ParentMessage = 'rss' | 'stop';
export interface Usage {
  rss: number;
  heapUsed: number;
  /** Memory outside the V8 heap: buffers, SQLite, native addons. */
  external: number;
  cpuUs: number;
}
/** `ready` is the MQTT port; `http` the HTTP API's, when the server runs one. */
export type ChildMessage = { ready: number; http?: number } | Usage | { stopped: true };

export function serveParent(port: number, stop: () => Promise<void>, httpPort?: number): void {
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
  send({ ready: port, ...(httpPort !== undefined && { http: httpPort }) });
}
