import { formatLocation, type EdgehubError } from '../../kernel/index.js';

/** A load error or warning as data, for the HTTP API and the MQTT status topic. */
export interface RuleProblem {
  readonly code: string;
  /** Null for problems that belong to no file (an unreadable directory). */
  readonly file: string | null;
  /** 1-based. */
  readonly line: number | null;
  readonly col: number | null;
  /** Key path inside the file, e.g. `rules[0].when.mqtt`; empty for the whole file. */
  readonly path: string;
  /** The message without the location. */
  readonly message: string;
}

function withoutLocation(error: EdgehubError): string {
  const loc = error.location;
  if (!loc) return error.message;
  const prefix = `${formatLocation(loc)}: `;
  return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
}

export function toRuleProblem(error: EdgehubError): RuleProblem {
  const loc = error.location;
  return {
    code: error.code,
    file: loc?.file ?? null,
    line: loc?.line ?? null,
    col: loc?.col ?? null,
    path: loc?.path ?? '',
    message: withoutLocation(error),
  };
}

/**
 * `file:line:col key.path: message`, the form editors and terminals turn into links; `label`
 * (`warning`) goes before the message.
 */
export function formatProblem(error: EdgehubError, label?: string): string {
  const loc = error.location;
  const text = label ? `${label}: ${withoutLocation(error)}` : withoutLocation(error);
  if (!loc) return text;
  return `${loc.file}:${loc.line}:${loc.col}${loc.path ? ` ${loc.path}` : ''}: ${text}`;
}
