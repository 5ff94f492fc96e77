import type { EditorView } from '@codemirror/view';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, messageOf, query } from '../api.js';
import { Empty, ErrorBox, Loading } from '../components/states.js';
import { compactJson, dateTime } from '../format.js';
import { html } from '../html.js';
import { navigate } from '../router.js';
import { can } from '../session.js';
import type { Preview, Problem, RuleFileVersion } from '../types.js';
import { previewSentence } from './preview-sentence.js';
import { createRuleEditor, setEditorText } from './rule-editor.js';

const NEW_FILE = `# yaml-language-server: $schema=../schemas/rules.schema.json
rules:
  - id: my-rule
    when:
      mqtt: sensors/+device/temperature
    if: payload.value > 30
    then:
      - log: '{{ device }} is at {{ payload.value }}'
`;

const RANGES = ['1h', '24h', '7d'] as const;

export function EditorPage({ file }: { file: string | null }) {
  const editable = can('edit-rules');
  const [name, setName] = useState(file ?? 'new-rules.yaml');
  const nameRef = useRef(name);
  nameRef.current = name;
  const [loaded, setLoaded] = useState<{ text: string; modifiedAt: number | null } | undefined>(
    file === null ? { text: NEW_FILE, modifiedAt: null } : undefined,
  );
  const [loadError, setLoadError] = useState<string | undefined>(undefined);
  const [problems, setProblems] = useState<readonly Problem[] | undefined>(undefined);
  const [checking, setChecking] = useState(false);
  const [preview, setPreview] = useState<Preview | undefined>(undefined);
  const [previewing, setPreviewing] = useState(false);
  const [range, setRange] = useState<(typeof RANGES)[number]>('24h');
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>(undefined);
  const [versionsRound, setVersionsRound] = useState(0);
  const text = useRef('');
  const box = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);

  useEffect(() => {
    if (file === null) return;
    setLoaded(undefined);
    api<{ name: string; text: string; modifiedAt: number }>(
      `/api/rule-files/${encodeURIComponent(file)}`,
    ).then(
      (f) => setLoaded({ text: f.text, modifiedAt: f.modifiedAt }),
      (e: unknown) => setLoadError(messageOf(e)),
    );
  }, [file]);

  const ready = loaded !== undefined;
  useEffect(() => {
    if (!ready || !box.current || !loaded) return;
    text.current = loaded.text;
    const editor = createRuleEditor({
      parent: box.current,
      text: loaded.text,
      readOnly: !editable,
      name: () => nameRef.current,
      onChange: (t) => {
        text.current = t;
        setPreview(undefined);
      },
      validate: editable
        ? async (t) => {
            setChecking(true);
            try {
              const answer = await api<{ ok: boolean; problems: Problem[] }>('/api/rule-files/validate', {
                method: 'POST',
                body: { name: nameRef.current, text: t },
              });
              setProblems(answer.problems);
              return answer.problems;
            } catch (e) {
              setMessage({ kind: 'error', text: messageOf(e) });
              return [];
            } finally {
              setChecking(false);
            }
          }
        : null,
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = undefined;
    };
    // The editor is made once per loaded file; later text changes stay inside it.
  }, [ready, editable]);

  const runPreview = async (): Promise<void> => {
    setPreviewing(true);
    setMessage(undefined);
    try {
      const answer = await api<Preview>('/api/rule-files/preview', {
        method: 'POST',
        body: { name, text: text.current, since: range },
      });
      setPreview(answer);
      setProblems(answer.problems);
    } catch (e) {
      setMessage({ kind: 'error', text: messageOf(e) });
    } finally {
      setPreviewing(false);
    }
  };

  const save = async (): Promise<void> => {
    setMessage(undefined);
    try {
      const answer = await api<{ saved: true; modifiedAt: number; version: unknown }>(
        `/api/rule-files/${encodeURIComponent(name)}`,
        {
          method: 'PUT',
          body: {
            text: text.current,
            ...(loaded?.modifiedAt != null && { baseModifiedAt: loaded.modifiedAt }),
          },
        },
      );
      setLoaded({ text: text.current, modifiedAt: answer.modifiedAt });
      setProblems([]);
      setMessage({ kind: 'ok', text: `Saved ${name}; the hub reloads it now.` });
      setVersionsRound((r) => r + 1);
      if (file !== name) navigate({ page: 'editor', file: name }, { replace: true });
    } catch (e) {
      if (e instanceof ApiError && e.problems.length > 0) setProblems(e.problems);
      setMessage({ kind: 'error', text: `Not saved: ${messageOf(e)}` });
    }
  };

  const restored = (restoredText: string, modifiedAt: number): void => {
    setLoaded({ text: restoredText, modifiedAt });
    if (view.current) setEditorText(view.current, restoredText);
    setMessage({ kind: 'ok', text: 'Restored; the hub reloads it now.' });
    setVersionsRound((r) => r + 1);
  };

  if (loadError) return html`<${ErrorBox} message=${loadError} />`;
  return html`<section class="editor-page">
    <h1>${file === null ? 'New rule file' : file}</h1>
    ${!editable && html`<p class="muted">Read only: editing rule files needs the admin role.</p>`}
    ${
      file === null &&
      html`<label
        >File name
        <input
          value=${name}
          aria-label="file name"
          onInput=${(e: Event) => setName((e.target as HTMLInputElement).value.trim())}
      /></label>`
    }
    ${!loaded && html`<${Loading} what="the rule file" />`}
    <div class="editor" ref=${box}></div>
    <${Problems} problems=${problems} checking=${checking} editable=${editable} />
    ${
      editable &&
      html`<div class="toolbar">
        <span role="group" aria-label="preview range">
          ${RANGES.map(
            (r) =>
              html`<button
                type="button"
                key=${r}
                class=${range === r ? 'selected' : ''}
                aria-pressed=${range === r}
                onClick=${() => setRange(r)}
              >
                ${r}
              </button>`,
          )}
        </span>
        <button type="button" onClick=${() => void runPreview()} disabled=${previewing}>
          ${previewing ? 'Back-testing…' : 'Preview'}
        </button>
        <button type="button" class="primary" onClick=${() => void save()}>Save</button>
      </div>`
    }
    ${message && html`<p class=${message.kind === 'ok' ? 'ok-box' : 'error-box'} role="status">${message.text}</p>`}
    ${preview && html`<${PreviewPanel} preview=${preview} range=${range} />`}
    ${file !== null && html`<${Versions} file=${file} round=${versionsRound} editable=${editable} onRestored=${restored} />`}
  </section>`;
}

function Problems({
  problems,
  checking,
  editable,
}: {
  problems: readonly Problem[] | undefined;
  checking: boolean;
  editable: boolean;
}) {
  if (!editable) return null;
  if (problems === undefined)
    return html`<p class="muted small problems-state">${checking ? 'Checking…' : 'Checked as you type.'}</p>`;
  if (problems.length === 0)
    return html`<p class="ok-box small problems-state">No problems: the hub would load this.</p>`;
  return html`<ul class="problems" aria-label="problems">
    ${problems.map((p) => html`<li data-line=${p.line}><code>${p.text}</code></li>`)}
  </ul>`;
}

/** "Over the last 24 h this edit would have fired N times (the rules in force: M)", then the detail. */
export function PreviewPanel({ preview, range }: { preview: Preview; range: string }) {
  const { edited, diff, loops } = preview;
  return html`<article class="card preview" aria-label="back-test preview">
    <h2>Back-test</h2>
    ${!preview.ok && html`<p class="error-box">This text does not load; fix the problems above first.</p>`}
    <p class="preview-summary">${previewSentence(preview, range)}</p>
    ${
      (diff.added.length > 0 || diff.removed.length > 0 || diff.changed.length > 0) &&
      html`<p class="diff small">
        ${diff.added.length > 0 && html`<span class="added">added: ${diff.added.join(', ')}</span> `}
        ${diff.removed.length > 0 && html`<span class="removed">removed: ${diff.removed.join(', ')}</span> `}
        ${diff.changed.length > 0 && html`<span class="changed">changed: ${diff.changed.join(', ')}</span>`}
      </p>`
    }
    ${
      loops.length > 0 &&
      html`<div class="error-box">
        <strong>Possible loops:</strong>
        <ul>
          ${loops.map((l) => html`<li>${l}</li>`)}
        </ul>
      </div>`
    }
    ${
      edited.firings.length === 0
        ? html`<${Empty}>No firings in this range.</${Empty}>`
        : html`<div class="table-wrap">
            <table class="firings">
              <thead>
                <tr>
                  <th>Time</th>
                  <th>Rule</th>
                  <th>Device</th>
                  <th>Readings</th>
                  <th>Actions</th>
                </tr>
              </thead>
              <tbody>
                ${edited.firings.map(
                  (f, i) =>
                    html`<tr key=${i}>
                      <td class="nowrap">${dateTime(f.time)}</td>
                      <td>${f.ruleId}</td>
                      <td>${f.device ?? '—'}</td>
                      <td><code>${compactJson(f.readings, 80)}</code></td>
                      <td>${f.actions.join('; ')}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
          </div>`
    }
    ${edited.fired > edited.firings.length && html`<p class="muted small">The first ${edited.firings.length} of ${edited.fired} are listed.</p>`}
  </article>`;
}

function Versions(props: {
  file: string;
  round: number;
  editable: boolean;
  onRestored: (text: string, modifiedAt: number) => void;
}) {
  const { file, round } = props;
  const [versions, setVersions] = useState<RuleFileVersion[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    api<{ versions: RuleFileVersion[] }>(
      `/api/rule-files/${encodeURIComponent(file)}/versions${query({})}`,
    ).then(
      (a) => setVersions(a.versions),
      (e: unknown) => setError(messageOf(e)),
    );
  }, [file, round]);
  const restore = async (version: RuleFileVersion['version']): Promise<void> => {
    try {
      const saved = await api<{ modifiedAt: number }>(`/api/rule-files/${encodeURIComponent(file)}/restore`, {
        method: 'POST',
        body: { version },
      });
      const now = await api<{ text: string }>(`/api/rule-files/${encodeURIComponent(file)}`);
      props.onRestored(now.text, saved.modifiedAt);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return html`<article class="card versions">
    <h2>Earlier versions</h2>
    ${error && html`<${ErrorBox} message=${error} />`}
    ${!error && !versions && html`<${Loading} what="versions" />`}
    ${versions && versions.length === 0 && html`<p class="muted">No earlier versions: each save keeps the text it replaced.</p>`}
    <ul>
      ${versions?.map(
        (v) =>
          html`<li key=${String(v.version)}>
            ${dateTime(v.savedAt)}
            <span class="muted small">(${v.size} bytes)</span>
            ${props.editable && html` <button type="button" onClick=${() => void restore(v.version)}>Restore</button>`}
          </li>`,
      )}
    </ul>
  </article>`;
}
