import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, messageOf, query } from '../api.js';
import { EventsTable } from '../components/events-table.js';
import { HistoryChart } from '../components/history-chart.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { ago, dateTime, reading } from '../format.js';
import { html } from '../html.js';
import { devices, now } from '../live.js';
import { StatusBadge } from './devices-page.js';
import type { HubEvent, History } from '../types.js';

/** A chart's range: one of the presets, back from now, or a custom one in epoch ms. */
type Range = { preset: '1h' | '24h' | '7d' } | { since: number; until: number };

const PRESETS = ['1h', '24h', '7d'] as const;

export function DevicePage({ id }: { id: string }) {
  const device = devices.value?.get(id);
  const [range, setRange] = useState<Range>({ preset: '24h' });
  if (!devices.value) return html`<${Loading} what="the device" />`;
  if (!device) return html`<${ErrorBox} message=${`No device "${id}" is known to the hub.`} />`;
  return html`<section>
    <h1>${device.name ?? device.id} <${StatusBadge} status=${device.status} /></h1>
    <p class="muted">${device.id} · last seen ${ago(device.lastSeen, now.value)}</p>
    <${RangePicker} range=${range} onChange=${setRange} />
    ${device.sensors.length === 0 && html`<${Empty}>This device reports no metrics to chart.</${Empty}>`}
    ${device.sensors.map(
      (s) =>
        html`<${MetricChart}
          key=${s.metric}
          device=${id}
          metric=${s.metric}
          unit=${s.unit}
          current=${reading(device.state[s.metric], s.unit)}
          range=${range}
          onZoom=${setRange}
        />`,
    )}
    <h2>Events</h2>
    <${DeviceEvents} device=${id} />
  </section>`;
}

function RangePicker({ range, onChange }: { range: Range; onChange: (r: Range) => void }) {
  const custom = 'since' in range;
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  return html`<div class="range-picker" role="group" aria-label="time range">
    ${PRESETS.map(
      (p) =>
        html`<button
          type="button"
          key=${p}
          class=${!custom && range.preset === p ? 'selected' : ''}
          aria-pressed=${!custom && range.preset === p}
          onClick=${() => onChange({ preset: p })}
        >
          ${p}
        </button>`,
    )}
    <form
      class="custom-range"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        const s = Date.parse(since);
        const u = Date.parse(until);
        if (Number.isFinite(s) && Number.isFinite(u) && s < u) onChange({ since: s, until: u });
      }}
    >
      <input
        type="datetime-local"
        aria-label="from"
        value=${since}
        onInput=${(e: Event) => setSince((e.target as HTMLInputElement).value)}
      />
      <input
        type="datetime-local"
        aria-label="to"
        value=${until}
        onInput=${(e: Event) => setUntil((e.target as HTMLInputElement).value)}
      />
      <button type="submit" class=${custom ? 'selected' : ''}>Custom</button>
    </form>
    ${custom && html`<span class="muted small">${dateTime(range.since)} – ${dateTime(range.until)} (drag on a chart to zoom)</span>`}
  </div>`;
}

/** How often a chart whose range ends now asks for it again, ms. */
const REFRESH_MS = 10_000;

function MetricChart(props: {
  device: string;
  metric: string;
  unit: string | null;
  current: string;
  range: Range;
  onZoom: (r: Range) => void;
}) {
  const { device, metric, range, onZoom } = props;
  const [history, setHistory] = useState<History | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const since = 'since' in range ? range.since : range.preset;
  const until = 'until' in range ? range.until : undefined;
  useEffect(() => {
    const abort = new AbortController();
    setHistory(undefined);
    const load = (): void => {
      api<History>(`/api/history${query({ device, metric, since, until, points: 1000 })}`, {
        signal: abort.signal,
      }).then(
        (h) => {
          setHistory(h);
          setError(undefined);
        },
        (e: unknown) => !abort.signal.aborted && setError(messageOf(e)),
      );
    };
    load();
    // A range that ends now moves on: asked again every REFRESH_MS, the chart keeps up with new readings.
    const timer = until === undefined ? setInterval(load, REFRESH_MS) : undefined;
    return () => {
      abort.abort();
      if (timer) clearInterval(timer);
    };
  }, [device, metric, since, until]);
  const zoom = useCallback((s: number, u: number) => onZoom({ since: s, until: u }), [onZoom]);
  return html`<article class="card metric-chart" data-metric=${metric}>
    <header>
      <h2>${metric}</h2>
      <span class="metric-value">${props.current}</span>
    </header>
    ${error && html`<${ErrorBox} message=${error} />`}
    ${!error && !history && html`<${Loading} what="the history" />`}
    ${history && history.points.length === 0 && html`<${Empty}>No numeric readings of ${metric} in this range.</${Empty}>`}
    ${history && history.points.length > 0 && html`<${HistoryChart} points=${history.points} since=${history.since} until=${history.until} label=${metric} unit=${props.unit} onZoom=${zoom} />`}
  </article>`;
}

function DeviceEvents({ device }: { device: string }) {
  const [pages, setPages] = useState<HubEvent[][]>([]);
  const [next, setNext] = useState<string | null | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const load = useCallback(
    async (cursor: string | null) => {
      try {
        const answer = await api<{ events: HubEvent[]; next: string | null }>(
          `/api/events${query({ device, limit: 50, cursor })}`,
        );
        setPages((old) => (cursor === null ? [answer.events] : [...old, answer.events]));
        setNext(answer.next);
        setError(undefined);
      } catch (e) {
        setError(messageOf(e));
      }
    },
    [device],
  );
  useEffect(() => void load(null), [load]);
  const events = pages.flat();
  if (error) return html`<${ErrorBox} message=${error} retry=${() => void load(null)} />`;
  if (next === undefined) return html`<${Loading} what="events" />`;
  return html`<div>
    ${events.length === 0 ? html`<${Empty}>No stored events for this device.</${Empty}>` : html`<${EventsTable} events=${events} showDevice=${false} />`}
    <div class="pager">
      <button type="button" onClick=${() => void load(null)}>Newest</button>
      ${next !== null && html`<button type="button" onClick=${() => void load(next)}>Older</button>`}
    </div>
  </div>`;
}
