import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { ago, compactJson, dateTime } from '../format.js';
import { html } from '../html.js';
import { now, stream } from '../live.js';
import { pathOf } from '../router.js';
import { can } from '../session.js';
import { useApi, type Loaded } from '../use-api.js';
import type { RuleFile, RuleRun, RuleStats, TraceRecord } from '../types.js';

interface RulesAnswer {
  rules: RuleStats[];
  status: { ok: boolean; rules: number; errors: number; warnings: number; at: number | null } | null;
}

export function RulesPage() {
  const rules = useApi<RulesAnswer>('/api/rules');
  const files = useApi<{ dir: string; files: RuleFile[] }>('/api/rule-files');
  const [runs, setRuns] = useState<Record<string, RuleRun>>({});
  const { reload } = rules;
  useEffect(
    () =>
      stream.on('rule', (data) => {
        const run = data as RuleRun;
        setRuns((old) => ({ ...old, [run.ruleId]: run }));
        reload();
      }),
    [reload],
  );
  return html`<section>
    <h1>Rules</h1>
    ${
      rules.data?.status &&
      !rules.data.status.ok &&
      html`<p class="error-box" role="alert">
        The last reload failed with ${rules.data.status.errors} error(s); the rules below stay in force. Open
        the file in the editor to see where.
      </p>`
    }
    <${RuleFiles} files=${files} />
    ${rules.error && html`<${ErrorBox} message=${rules.error} retry=${rules.reload} />`}
    ${!rules.data && !rules.error && html`<${Loading} what="rules" />`}
    ${rules.data && rules.data.rules.length === 0 && html`<${Empty}>No rules are loaded. Add a rule file to the rules directory.</${Empty}>`}
    <ul class="rules">
      ${rules.data?.rules.map((r) => html`<${RuleCard} key=${r.id} rule=${r} live=${runs[r.id]} />`)}
    </ul>
  </section>`;
}

function RuleFiles({ files }: { files: Loaded<{ dir: string; files: RuleFile[] }> }) {
  const editable = can('edit-rules');
  if (files.error) return html`<p class="muted small">Rule files: ${files.error}</p>`;
  if (!files.data) return null;
  return html`<div class="card rule-files">
    <h2>Files in ${files.data.dir}</h2>
    ${files.data.files.length === 0 && html`<p class="muted">No rule files yet.</p>`}
    <ul>
      ${files.data.files.map(
        (f) =>
          html`<li key=${f.name}>
            <a href=${pathOf({ page: 'editor', file: f.name })}>${editable ? 'Edit' : 'View'} ${f.name}</a>
            <span class="muted small"> ${f.rules.join(', ')}</span>
          </li>`,
      )}
    </ul>
    ${editable && html`<a class="button" href=${pathOf({ page: 'editor', file: null })}>New rule file</a>`}
  </div>`;
}

function RuleCard({ rule, live }: { rule: RuleStats; live: RuleRun | undefined }) {
  const [open, setOpen] = useState(false);
  return html`<li class="card rule" data-rule=${rule.id}>
    <header>
      <strong>${rule.id}</strong>
      ${rule.enabled ? html`<span class="badge online">enabled</span>` : html`<span class="badge">disabled</span>`}
      ${rule.suspended && html`<span class="badge offline" title="the loop breaker stopped it">suspended</span>`}
    </header>
    <p class="small">
      last fired <span class="last-fired">${ago(rule.lastFiredAt ?? null, now.value)}</span> · last run ${ago(rule.lastRunAt, now.value)}
    </p>
    <p class="counters small">
      triggered <b>${rule.triggered}</b> · fired <b class="fired">${rule.fired}</b> · blocked <b>${rule.blocked}</b> · errors <b>${rule.errors}</b>
      ${
        rule.dropped &&
        Object.entries(rule.dropped)
          .filter(([, n]) => n > 0)
          .map(([why, n]) => html` · dropped (${why}) <b>${n}</b>`)
      }
    </p>
    ${live && html`<p class="small live-run">just now: ${live.outcome}${live.reason ? ` (${live.reason})` : ''}</p>`}
    <button type="button" class="link" aria-expanded=${open} onClick=${() => setOpen(!open)}>
      ${open ? 'Hide' : 'Show'} the last runs
    </button>
    ${open && html`<${Trace} id=${rule.id} />`}
  </li>`;
}

function Trace({ id }: { id: string }) {
  const [runs, setRuns] = useState<TraceRecord[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    api<{ runs: TraceRecord[] }>(`/api/rules/${encodeURIComponent(id)}/trace?limit=10`).then(
      (a) => setRuns(a.runs),
      (e: unknown) => setError(messageOf(e)),
    );
  }, [id]);
  if (error) return html`<${ErrorBox} message=${error} />`;
  if (!runs) return html`<${Loading} what="runs" />`;
  if (runs.length === 0) return html`<p class="muted">No runs recorded yet.</p>`;
  return html`<ol class="trace">
    ${runs.map((r) => {
      const run = r.run as {
        reason?: string | null;
        error?: string | null;
        trigger?: { topic?: string; payload?: unknown };
        conditions?: { expression: string; value: unknown; held: boolean }[];
        actions?: { kind: string; detail: string; ok: boolean }[];
      };
      return html`<li key=${r.id} class="run ${r.outcome}">
        <span class="badge ${r.outcome}">${r.outcome}</span> ${dateTime(r.startedAt)}
        ${run.trigger?.topic && html` · <code>${run.trigger.topic}</code> ${compactJson(run.trigger.payload, 60)}`}
        ${r.outcome === 'blocked' && html`<div class="why">why not: ${whyNot(run)}</div>`}
        ${run.error && html`<div class="why">error: ${run.error}</div>`}
        ${
          run.actions &&
          run.actions.length > 0 &&
          html`<ul class="small">
            ${run.actions.map((a) => html`<li>${a.kind}: ${a.detail}</li>`)}
          </ul>`
        }
      </li>`;
    })}
  </ol>`;
}

/** A blocked run in one sentence: the dropping reason, or the conditions that did not hold. */
export function whyNot(run: {
  reason?: string | null;
  conditions?: { expression: string; value: unknown; held: boolean }[];
}): string {
  if (run.reason && run.reason !== 'condition') return run.reason;
  const failed = (run.conditions ?? []).filter((c) => !c.held);
  if (failed.length === 0) return run.reason ?? 'unknown';
  return failed.map((c) => `${c.expression} was ${compactJson(c.value, 40)}`).join('; ');
}
