import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, messageOf, query } from '../api.js';
import { Sparkline } from '../components/sparkline.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { ago, isOn, levelOf, reading, valueOf } from '../format.js';
import { html } from '../html.js';
import { devices, devicesError, loadDevices, now } from '../live.js';
import { pathOf } from '../router.js';
import { can } from '../session.js';
import type { Device, History } from '../types.js';

export function DevicesPage() {
  const list = devices.value;
  if (devicesError.value && !list)
    return html`<${ErrorBox} message=${devicesError.value} retry=${() => void loadDevices()} />`;
  if (!list) return html`<${Loading} what="devices" />`;
  const sorted = [...list.values()].sort((a, b) => a.id.localeCompare(b.id));
  return html`<section>
    <h1>Devices <span class="count">${sorted.length}</span></h1>
    ${
      sorted.length === 0 &&
      html`<${Empty}>No device has been seen yet. Devices appear here as soon as they publish to the broker
      or are defined in the hub's config.</${Empty}>`
    }
    <div class="grid">${sorted.map((d) => html`<${DeviceCard} key=${d.id} device=${d} />`)}</div>
  </section>`;
}

function DeviceCard({ device }: { device: Device }) {
  const metrics = device.sensors.length > 0 ? device.sensors : [];
  return html`<article class="card device ${device.status}" data-device=${device.id}>
    <header>
      <a href=${pathOf({ page: 'device', id: device.id })} class="device-name">${device.name ?? device.id}</a>
      <${StatusBadge} status=${device.status} />
    </header>
    <p class="muted small">
      ${device.id}${device.defined ? '' : ' · not in the config'} · seen ${ago(device.lastSeen, now.value)}
    </p>
    ${metrics.length === 0 && device.actuators.length === 0 && html`<p class="muted">No readings yet.</p>`}
    <ul class="metrics">
      ${metrics.map(
        (s) =>
          html`<li key=${s.metric} class=${s.stale ? 'stale' : ''} data-metric=${s.metric}>
            <span class="metric-name">${s.metric}</span>
            <span class="metric-value">${reading(device.state[s.metric], s.unit)}</span>
            ${s.stale && html`<span class="badge stale" title="no fresh reading within the device's stale_after">stale</span>`}
            <${MetricSparkline} device=${device.id} metric=${s.metric} value=${device.state[s.metric]} />
          </li>`,
      )}
    </ul>
    ${device.actuators.length > 0 && html`<${Actuators} device=${device} />`}
  </article>`;
}

export function StatusBadge({ status }: { status: Device['status'] }) {
  return html`<span class="badge ${status}">${status}</span>`;
}

/** The last hour from /api/history, then each new value as the stream brings it. */
function MetricSparkline({ device, metric, value }: { device: string; metric: string; value: unknown }) {
  const [values, setValues] = useState<number[]>([]);
  useEffect(() => {
    const abort = new AbortController();
    api<History>(`/api/history${query({ device, metric, since: '1h', points: 60 })}`, {
      signal: abort.signal,
    }).then(
      (h) => setValues(h.points.map((p) => p.avg)),
      () => setValues([]),
    );
    return () => abort.abort();
  }, [device, metric]);
  useEffect(() => {
    const v = valueOf(value);
    if (typeof v === 'number') setValues((old) => [...old.slice(-59), v]);
  }, [value]);
  return html`<${Sparkline} values=${values} label=${`${metric}, the last hour`} />`;
}

function Actuators({ device }: { device: Device }) {
  const [refusal, setRefusal] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const allowed = can('command');
  const send = async (set: Record<string, unknown>): Promise<void> => {
    setBusy(true);
    setRefusal(undefined);
    try {
      await api(`/api/devices/${encodeURIComponent(device.id)}/commands`, { method: 'POST', body: { set } });
    } catch (error) {
      setRefusal(
        error instanceof ApiError && error.code === 'COMMAND_REFUSED'
          ? `Refused: ${error.message}`
          : messageOf(error),
      );
    } finally {
      setBusy(false);
    }
  };
  return html`<div class="actuators">
    ${device.actuators.map((a) => {
      const state = device.state[a.name];
      if (a.kind === 'dimmer') {
        return html`<label key=${a.name} class="actuator" data-actuator=${a.name}>
          <span>${a.name} <output>${levelOf(state)} %</output></span>
          <input
            type="range"
            min="0"
            max="100"
            step="1"
            value=${levelOf(state)}
            disabled=${!allowed || busy}
            aria-label=${`${a.name} level`}
            onChange=${(e: Event) => void send({ [a.name]: Number((e.target as HTMLInputElement).value) })}
          />
        </label>`;
      }
      const on = isOn(state);
      return html`<div key=${a.name} class="actuator" data-actuator=${a.name}>
        <span
          >${`${a.name}: `}<strong class="actuator-state"
            >${state === undefined ? 'unknown' : on ? 'on' : 'off'}</strong
          ></span
        >
        ${
          allowed &&
          html`<span class="buttons">
            <button type="button" disabled=${busy || on} onClick=${() => void send({ [a.name]: true })}>
              On
            </button>
            <button
              type="button"
              disabled=${busy || (state !== undefined && !on)}
              onClick=${() => void send({ [a.name]: false })}
            >
              Off
            </button>
          </span>`
        }
      </div>`;
    })}
    ${!allowed && html`<p class="muted small">Your role (viewer) may look but not send commands.</p>`}
    ${refusal && html`<p class="error-box refusal" role="alert">${refusal}</p>`}
  </div>`;
}
