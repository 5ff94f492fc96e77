import { useEffect, useRef, useState } from 'preact/hooks';
import { api, messageOf, query } from '../api.js';
import { EventsTable } from '../components/events-table.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { html } from '../html.js';
import { openStream, stream } from '../live.js';
import type { HubEvent } from '../types.js';

/** Rows kept on screen; older ones scroll off (the store keeps them, the device page pages them). */
const KEEP = 300;

export function EventsPage() {
  const [topic, setTopic] = useState('');
  const [device, setDevice] = useState('');
  const [events, setEvents] = useState<HubEvent[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [paused, setPaused] = useState(false);
  const held = useRef<HubEvent[]>([]);
  const [heldCount, setHeldCount] = useState(0);
  const [skipped, setSkipped] = useState(0);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;

  useEffect(() => {
    const abort = new AbortController();
    setEvents(undefined);
    // Filtered, the page has a stream of its own that the hub filters: the shared one is capped at
    // 200 events a second of all topics, of which a busy hub's one device would get a sliver.
    const own =
      topic !== '' || device !== ''
        ? openStream(`/api/stream${query({ types: 'event', topic, device })}`)
        : undefined;
    const source = own ?? stream;
    const handle = window.setTimeout(() => {
      api<{ events: HubEvent[] }>(`/api/events${query({ topic, device, limit: 100 })}`, {
        signal: abort.signal,
      }).then(
        (answer) => {
          setEvents(answer.events);
          setError(undefined);
          // Only a filter the hub accepted is streamed; a bad one is shown, not retried.
          if (!abort.signal.aborted) own?.start();
        },
        (e: unknown) => !abort.signal.aborted && setError(messageOf(e)),
      );
    }, 250);
    const off = source.on('event', (data) => {
      const e = data as HubEvent;
      if (pausedRef.current) {
        held.current.push(e);
        setHeldCount(held.current.length);
        return;
      }
      setEvents((old) => [e, ...(old ?? [])].slice(0, KEEP));
    });
    setSkipped(0);
    const offSkipped = source.on('skipped', (data) => {
      const n = (data as { events?: unknown }).events;
      if (typeof n === 'number' && n > 0) setSkipped((old) => old + n);
    });
    return () => {
      window.clearTimeout(handle);
      abort.abort();
      off();
      offSkipped();
      own?.stop();
    };
  }, [topic, device]);

  const resume = (): void => {
    const waiting = held.current.reverse();
    held.current = [];
    setHeldCount(0);
    setPaused(false);
    setEvents((old) => [...waiting, ...(old ?? [])].slice(0, KEEP));
  };

  return html`<section>
    <h1>Events</h1>
    <div class="toolbar">
      <label
        >Topic
        <input
          placeholder="sensors/+/temperature"
          value=${topic}
          aria-label="topic filter"
          onInput=${(e: Event) => setTopic((e.target as HTMLInputElement).value.trim())}
      /></label>
      <label
        >Device
        <input
          placeholder="gh-1"
          value=${device}
          aria-label="device filter"
          onInput=${(e: Event) => setDevice((e.target as HTMLInputElement).value.trim())}
      /></label>
      ${
        paused
          ? html`<button type="button" class="primary" onClick=${resume}>
              Resume${heldCount > 0 ? ` (${heldCount} new)` : ''}
            </button>`
          : html`<button type="button" onClick=${() => setPaused(true)}>Pause</button>`
      }
    </div>
    ${skipped > 0 && html`<p class="muted" role="status">${skipped} events came faster than this page is sent (200 a second) and are not shown here; they are all stored.</p>`}
    ${error && html`<${ErrorBox} message=${error} />`}
    ${!error && !events && html`<${Loading} what="events" />`}
    ${events && events.length === 0 && html`<${Empty}>No events match yet; new ones appear here as they arrive.</${Empty}>`}
    ${events && events.length > 0 && html`<${EventsTable} events=${events} />`}
  </section>`;
}
