import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { ago, dateTime } from '../format.js';
import { html } from '../html.js';
import { now, stream } from '../live.js';
import { can } from '../session.js';
import type { AlertRecord } from '../types.js';

/** Active first, then the most recently raised. */
export function alertOrder(a: AlertRecord, b: AlertRecord): number {
  if (a.active !== b.active) return a.active ? -1 : 1;
  return b.lastRaisedAt - a.lastRaisedAt;
}

export function AlertsPage() {
  const [alerts, setAlerts] = useState<AlertRecord[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [failure, setFailure] = useState<string | undefined>(undefined);
  const upsert = (alert: AlertRecord): void =>
    setAlerts((old) => [alert, ...(old ?? []).filter((a) => a.key !== alert.key)].sort(alertOrder));
  const load = (): void => {
    api<{ alerts: AlertRecord[] }>('/api/alerts?limit=500').then(
      (answer) => {
        setAlerts([...answer.alerts].sort(alertOrder));
        setError(undefined);
      },
      (e: unknown) => setError(messageOf(e)),
    );
  };
  useEffect(() => {
    load();
    return stream.on('alert', (data) => upsert(data as AlertRecord));
  }, []);
  const act = async (alert: AlertRecord, what: 'acknowledge' | 'clear'): Promise<void> => {
    setFailure(undefined);
    try {
      const answer = await api<{ alert: AlertRecord }>(
        `/api/alerts/${encodeURIComponent(alert.key)}/${what}`,
        {
          method: 'POST',
          body: {},
        },
      );
      upsert(answer.alert);
    } catch (e) {
      setFailure(messageOf(e));
    }
  };
  if (error) return html`<${ErrorBox} message=${error} retry=${load} />`;
  if (!alerts) return html`<${Loading} what="alerts" />`;
  const active = alerts.filter((a) => a.active);
  const past = alerts.filter((a) => !a.active);
  const allowed = can('acknowledge');
  const row = (a: AlertRecord) =>
    html`<li key=${a.key} class="card alert ${a.severity} ${a.active ? 'active' : ''}" data-alert=${a.key}>
      <header>
        <span class="badge ${a.severity}">${a.severity}</span>
        <strong>${a.message}</strong>
      </header>
      <p class="muted small">
        ${a.key} · from ${a.source} · raised ${ago(a.lastRaisedAt, now.value)}${a.count > 1 ? ` (${a.count}×)` : ''}
        ${a.acknowledgedAt !== null && html` · <span class="acknowledged">acknowledged ${dateTime(a.acknowledgedAt)}</span>`}
        ${a.clearedAt !== null && ` · cleared ${dateTime(a.clearedAt)}`}
      </p>
      ${
        a.active &&
        allowed &&
        html`<div class="buttons">
          ${a.acknowledgedAt === null && html`<button type="button" onClick=${() => void act(a, 'acknowledge')}>Acknowledge</button>`}
          <button type="button" onClick=${() => void act(a, 'clear')}>Clear</button>
        </div>`
      }
    </li>`;
  return html`<section>
    <h1>Alerts <span class="count">${active.length}</span></h1>
    ${failure && html`<p class="error-box" role="alert">${failure}</p>`}
    ${!allowed && active.length > 0 && html`<p class="muted small">Your role (viewer) may not acknowledge or clear alerts.</p>`}
    ${
      active.length === 0
        ? html`<${Empty}>No active alerts. All is well.</${Empty}>`
        : html`<ul class="alerts">
            ${active.map(row)}
          </ul>`
    }
    <h2>History</h2>
    ${
      past.length === 0
        ? html`<${Empty}>No past alerts.</${Empty}>`
        : html`<ul class="alerts">
            ${past.map(row)}
          </ul>`
    }
  </section>`;
}
