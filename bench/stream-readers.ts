/**
 * Dashboards holding `GET /api/stream` open and reading everything it sends, in a process of their
 * own: a browser does not share the load generator's event loop, so the readers must not either, or
 * their parsing would slow the publishers and be counted against the hub. Forked by the dashboard
 * bench with the port and the number of clients; answers `{ready}`, then `{received}` once told
 * `close`.
 */
const [port, count] = process.argv.slice(2).map(Number);

let received = 0;
const aborts: AbortController[] = [];
const reads: Promise<void>[] = [];

async function openOne(): Promise<void> {
  const abort = new AbortController();
  aborts.push(abort);
  const res = await fetch(`http://127.0.0.1:${port}/api/stream`, { signal: abort.signal });
  if (!res.ok || !res.body) throw new Error(`GET /api/stream answered ${res.status}`);
  const reader = res.body.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const decoder = new TextDecoder();
  const first = await reader.read();
  if (first.done) throw new Error('the live stream closed at once');
  reads.push(
    (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        // One SSE message per `data:` line the hub sends.
        received += decoder.decode(value).split('\ndata:').length - 1;
      }
    })().catch(() => undefined),
  );
}

process.on('message', (m: string) => {
  if (m !== 'close') return;
  for (const a of aborts) a.abort();
  void Promise.all(reads).then(() => {
    process.send?.({ received });
    process.disconnect();
  });
});

Promise.all(Array.from({ length: count ?? 0 }, () => openOne())).then(
  () => process.send?.({ ready: true }),
  (err: unknown) => {
    process.send?.({ error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  },
);
