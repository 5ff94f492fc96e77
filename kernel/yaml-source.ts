import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { EdgehubError, type ErrorCode, type SourceLocation } from './errors.js';

/** A parsed YAML file that can say where any key path sits in the text. */
export class YamlSource {
  private constructor(
    readonly file: string,
    readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /** Parses `text`; YAML syntax errors become {@link EdgehubError}s with their line and column. */
  static parse(file: string, text: string, code: ErrorCode): YamlSource {
    const lines = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    const first = doc.errors[0];
    if (first) {
      const pos = lines.linePos(first.pos[0]);
      throw new EdgehubError(code, `YAML syntax: ${first.message.split('\n')[0] ?? first.code}`, {
        location: { file, line: pos.line, col: pos.col, path: '' },
      });
    }
    return new YamlSource(file, doc, lines);
  }

  toJS(): unknown {
    return this.doc.toJS({ maxAliasCount: 100 });
  }

  /** The location of the node at `path` (or of its nearest existing ancestor). */
  locate(path: readonly PropertyKey[]): SourceLocation {
    let node: unknown = this.doc.contents;
    let best: Node | undefined = isNode(node) ? node : undefined;
    let keyNode: Node | undefined;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => keyOf(p.key) === String(segment));
        if (!pair) break;
        keyNode = isNode(pair.key) ? pair.key : undefined;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        keyNode = undefined;
      } else break;
      if (isNode(node)) best = node;
      else if (keyNode) best = keyNode;
    }
    const offset = best?.range?.[0] ?? 0;
    const pos = this.lines.linePos(offset);
    return { file: this.file, line: pos.line, col: pos.col, path: formatPath(path) };
  }

  /** Validates the document against `schema`; every issue becomes an error with its location. */
  validate<S extends z.ZodType>(
    schema: S,
    code: ErrorCode,
  ): { value: z.output<S> } | { errors: EdgehubError[] } {
    const result = schema.safeParse(this.toJS());
    if (result.success) return { value: result.data };
    return {
      errors: result.error.issues.map((issue) => {
        const path = issue.path;
        const location = this.locate(
          issue.code === 'unrecognized_keys' ? [...path, ...issue.keys.slice(0, 1)] : path,
        );
        return new EdgehubError(code, issue.message, { location });
      }),
    };
  }
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}

function keyOf(key: unknown): string {
  if (key && typeof key === 'object' && 'value' in key) return String(key.value);
  return String(key);
}

/** `rules[0].when.mqtt` style key paths. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}
