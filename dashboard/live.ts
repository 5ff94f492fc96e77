import { signal } from '@preact/signals';
import { api } from './api.js';
import { Backoff } from './backoff.js';
import { LiveStream, type StreamStatus } from './live-stream.js';
import type { Device } from './types.js';

/** A stream of `url` (`/api/stream?…`), not started. */
export function openStream(url: string): LiveStream {
  return new LiveStream(url, {
    open: (u) => new EventSource(u, { withCredentials: true }),
    setTimer: (fn, ms) => window.setTimeout(fn, ms),
    clearTimer: (handle) => window.clearTimeout(handle as number),
    now: () => Date.now(),
    backoff: new Backoff({ initialMs: 1000, maxMs: 30_000, random: Math.random }),
  });
}

/** The one stream of the app; started after login, stopped at logout. */
export const stream = openStream('/api/stream?types=event,device,rule,alert');

export const streamStatus = signal<StreamStatus>(stream.status);
stream.onStatus((s) => (streamStatus.value = s));

/** Every device by id, loaded once and then kept current by the stream's `device` messages. */
export const devices = signal<ReadonlyMap<string, Device> | undefined>(undefined);
export const devicesError = signal<string | undefined>(undefined);

/** A clock that ticks each second, so "12 s ago" and stale marks move on their own. */
export const now = signal(Date.now());
window.setInterval(() => (now.value = Date.now()), 1000);

stream.on('device', (data) => {
  const device = data as Device;
  const next = new Map(devices.value ?? []);
  next.set(device.id, device);
  devices.value = next;
});

/** All devices, through every page of /api/devices. */
export async function loadDevices(): Promise<void> {
  try {
    const all = new Map<string, Device>();
    let cursor: string | null = null;
    do {
      const path: string = `/api/devices?limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page = await api<{ devices: Device[]; next: string | null }>(path);
      for (const d of page.devices) all.set(d.id, d);
      cursor = page.next;
    } while (cursor !== null);
    devices.value = all;
    devicesError.value = undefined;
  } catch (error) {
    devicesError.value = error instanceof Error ? error.message : String(error);
  }
}
