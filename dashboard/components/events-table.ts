import { compactJson, dateTime } from '../format.js';
import { html } from '../html.js';
import { pathOf } from '../router.js';
import type { HubEvent } from '../types.js';

export function EventsTable({
  events,
  showDevice = true,
}: {
  events: readonly HubEvent[];
  showDevice?: boolean;
}) {
  return html`<div class="table-wrap">
    <table class="events">
      <thead>
        <tr>
          <th>Time</th>
          <th>Topic</th>
          ${showDevice && html`<th>Device</th>`}
          <th>Payload</th>
        </tr>
      </thead>
      <tbody>
        ${events.map(
          (e, i) =>
            html`<tr key=${e.id ?? `${e.time}-${i}`}>
              <td class="nowrap">${dateTime(e.time)}</td>
              <td class="topic">${e.topic}${e.retain ? html` <span class="badge">retained</span>` : ''}</td>
              ${showDevice && html`<td>${e.device ? html`<a href=${pathOf({ page: 'device', id: e.device })}>${e.device}</a>` : '—'}</td>`}
              <td class="payload"><code>${compactJson(e.payload)}</code></td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}
