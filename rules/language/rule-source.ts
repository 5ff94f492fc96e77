import { isMap, isScalar, type Node } from 'yaml';
import { YamlSource, type SourceLocation, formatPath } from '../../kernel/index.js';

/**
 * One rule file's text and YAML tree. Beyond {@link YamlSource.locate} it can point at a map key
 * (for unknown keys) and at a character inside a string (for errors inside expressions).
 */
export class RuleSource {
  private lineStarts: number[] | undefined;

  private constructor(
    readonly file: string,
    readonly text: string,
    readonly yaml: YamlSource,
  ) {}

  /** Parses `text`; a YAML syntax error throws `RULE_INVALID` with its line and column. */
  static parse(file: string, text: string): RuleSource {
    return new RuleSource(file, text, YamlSource.parse(file, text, 'RULE_INVALID'));
  }

  toJS(): unknown {
    return this.yaml.toJS();
  }

  /** The node at `path`, or its nearest existing ancestor. */
  at(path: readonly PropertyKey[]): SourceLocation {
    return this.yaml.locate(path);
  }

  /** The key `key` of the map at `path` itself, rather than its value. */
  atKey(path: readonly PropertyKey[], key: string): SourceLocation {
    const map: unknown = path.length === 0 ? this.yaml.doc.contents : this.yaml.doc.getIn(path, true);
    if (isMap(map)) {
      const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      const start = (pair?.key as Node | undefined)?.range?.[0];
      if (start !== undefined) return this.position(start, [...path, key]);
    }
    return this.at([...path, key]);
  }

  /**
   * Character `offset` of the string at `path`. Exact for single-line plain and quoted strings
   * without escapes (what expressions are written as); otherwise the start of the string.
   */
  inString(path: readonly PropertyKey[], offset: number): SourceLocation {
    const node: unknown = this.yaml.doc.getIn(path, true);
    if (isScalar(node) && typeof node.value === 'string' && node.range) {
      const raw = this.text.slice(node.range[0], node.range[1]);
      const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
      const body = quoted ? raw.slice(1, -1) : raw;
      if (body === node.value) return this.position(node.range[0] + (quoted ? 1 : 0) + offset, path);
    }
    return this.at(path);
  }

  private position(offset: number, path: readonly PropertyKey[]): SourceLocation {
    const starts = (this.lineStarts ??= lineStartsOf(this.text));
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, col: offset - (starts[lo] ?? 0) + 1, path: formatPath(path) };
  }
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return starts;
}
