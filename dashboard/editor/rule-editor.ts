import { autocompletion, type CompletionContext, type CompletionResult } from '@codemirror/autocomplete';
import { yaml } from '@codemirror/lang-yaml';
import { linter, lintGutter, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { basicSetup, EditorView } from 'codemirror';
import rulesSchema from '../../schemas/rules.schema.json';
import type { Problem } from '../types.js';
import { keysAt, valuesAt, type SchemaNode } from './schema-keys.js';
import { yamlSpot } from './yaml-path.js';

const schema = rulesSchema as SchemaNode;

/** Completion from the rules' JSON Schema, generated from the same zod schema the hub loads with. */
function schemaCompletion(context: CompletionContext): CompletionResult | null {
  const line = context.state.doc.lineAt(context.pos);
  const before = context.state.doc.sliceString(0, context.pos);
  const spot = yamlSpot(before);
  if (!spot) return null;
  const word = context.matchBefore(/[\w.-]*/);
  if (
    !context.explicit &&
    (word?.from ?? context.pos) === context.pos &&
    spot.kind === 'key' &&
    line.text.trim() !== '-'
  )
    return null;
  const from = word?.from ?? context.pos;
  if (spot.kind === 'key') {
    return {
      from,
      options: keysAt(schema, spot.path).map((s) => ({
        label: s.label,
        apply: `${s.label}: `,
        type: 'property',
        ...(s.detail !== undefined && { info: s.detail }),
      })),
      validFor: /^[\w.-]*$/,
    };
  }
  const values = valuesAt(schema, spot.path, spot.key ?? '');
  if (values.length === 0) return null;
  return { from, options: values.map((v) => ({ label: v.label, type: 'enum' })), validFor: /^[\w.-]*$/ };
}

/** Problems of this file as CodeMirror diagnostics, at their 1-based line and column. */
export function diagnosticsOf(state: EditorState, problems: readonly Problem[], name: string): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const p of problems) {
    if (p.file !== undefined && p.file !== name) continue;
    const lineNo = Math.min(Math.max(1, p.line), state.doc.lines);
    const line = state.doc.line(lineNo);
    const from = Math.min(line.from + Math.max(0, p.col - 1), line.to);
    out.push({
      from,
      to: Math.max(from, line.to),
      severity: 'error',
      message: p.path ? `${p.path}: ${p.message}` : p.message,
    });
  }
  return out;
}

/** Colours from the page's variables, so the editor follows light and dark with the rest. */
const theme = EditorView.theme({
  '&': { color: 'var(--fg)', backgroundColor: 'var(--card)', maxHeight: '70vh', fontSize: '13px' },
  '.cm-gutters': {
    backgroundColor: 'var(--bg)',
    color: 'var(--muted)',
    borderRight: '1px solid var(--line)',
  },
  '.cm-activeLine, .cm-activeLineGutter': {
    backgroundColor: 'color-mix(in srgb, var(--accent) 8%, transparent)',
  },
  '&.cm-focused': { outline: 'none' },
  '.cm-cursor': { borderLeftColor: 'var(--fg)' },
  '&.cm-focused .cm-selectionBackground, .cm-selectionBackground': {
    backgroundColor: 'color-mix(in srgb, var(--accent) 25%, transparent) !important',
  },
  '.cm-tooltip': { backgroundColor: 'var(--card)', color: 'var(--fg)', border: '1px solid var(--line)' },
  '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace' },
});

export interface RuleEditorOptions {
  parent: HTMLElement;
  text: string;
  readOnly: boolean;
  /** Called (debounced by the linter, 600 ms) with the text to check; resolves with its problems. */
  validate: ((text: string) => Promise<readonly Problem[]>) | null;
  name: () => string;
  onChange: (text: string) => void;
}

/** The CodeMirror 6 view of a rule file: YAML, schema completion and validation in the gutter. */
export function createRuleEditor(options: RuleEditorOptions): EditorView {
  const validate = options.validate;
  // CodeMirror adds its styles at run time. In a document it does so with a <style> element, which
  // the hub's CSP (`style-src 'self'`) blocks; in a shadow root it uses a constructed stylesheet
  // (adoptedStyleSheets), which the CSP allows. The page's CSS variables still reach inside.
  const shadow = options.parent.attachShadow({ mode: 'open' });
  return new EditorView({
    parent: shadow,
    root: shadow,
    state: EditorState.create({
      doc: options.text,
      extensions: [
        basicSetup,
        yaml(),
        autocompletion({ override: [schemaCompletion] }),
        lintGutter(),
        ...(validate
          ? [
              linter(
                async (view) => {
                  const problems = await validate(view.state.doc.toString());
                  return diagnosticsOf(view.state, problems, options.name());
                },
                { delay: 600 },
              ),
            ]
          : []),
        EditorState.readOnly.of(options.readOnly),
        theme,
        EditorView.updateListener.of((update) => {
          if (update.docChanged) options.onChange(update.state.doc.toString());
        }),
        EditorView.contentAttributes.of({ 'aria-label': 'rule file' }),
      ],
    }),
  });
}

/** Replaces the whole text (a restored version, a reload), keeping the editor's extensions. */
export function setEditorText(view: EditorView, text: string): void {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
}
