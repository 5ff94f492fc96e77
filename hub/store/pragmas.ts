import type { Database } from 'better-sqlite3';

/** Pragmas for the one writing connection; tuned for SD cards, where every fsync is expensive. */
export function configureWriter(db: Database): void {
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode fsyncs only at checkpoints: a power cut can lose the last commits, never corrupt.
  db.pragma('synchronous = NORMAL');
  // ms. Short on purpose: a database locked by some other writer is better retried on the next flush
  // (like any write failure) than waited for, since durable acknowledgements wait on the writer.
  db.pragma('busy_timeout = 50');
  // Truncate the WAL back to 64 MiB after checkpoints so a burst does not keep the file large.
  db.pragma('journal_size_limit = 67108864');
  // KiB when negative. Appends touch the right edge of the table and of the time index, one leaf per
  // device of the device index and the small `latest` table. Every new page stays cached until the
  // cache is full, so the cap is RSS the hub holds (about 3 MB more than at 1 MiB). At 1 MiB the
  // store bench (200 devices) ingested a third less; the OS page cache keeps the rest of the file warm.
  db.pragma('cache_size = -4096');
  db.pragma('temp_store = MEMORY');
}

/** Readers never write; the busy timeout (ms) covers a writer that is recovering the WAL as we open. */
export function configureReader(db: Database): void {
  db.pragma('busy_timeout = 5000');
  // KiB when negative: enough for the index interiors a device-history query walks.
  db.pragma('cache_size = -8192');
}
