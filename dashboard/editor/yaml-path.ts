/** Where the cursor sits in a YAML block document, as far as completion needs to know. */
export interface YamlSpot {
  /** Keys from the top down to the mapping the cursor is in; `[]` for an item of a sequence. */
  path: string[];
  /** Completing a key (`key`) or the value of `key` (`value`). */
  kind: 'key' | 'value';
  /** The key whose value is being typed, when kind is `value`. */
  key?: string;
  /** The word typed so far. */
  prefix: string;
}

interface Frame {
  col: number;
  segment: string;
}

const LINE = /^(\s*)((?:-\s+)*)(.*)$/;
const KEY = /^([A-Za-z_][\w.-]*)\s*:(?:\s|$)/;

/**
 * Reads the block structure of the lines before the cursor by their indentation (no parser: the
 * text being edited is usually not valid YAML yet). `before` is the document up to the cursor.
 */
export function yamlSpot(before: string): YamlSpot | null {
  const lines = before.split('\n');
  const current = lines.pop() ?? '';
  const stack: Frame[] = [];
  const enter = (col: number, segment: string): void => {
    while (stack.length > 0 && (stack[stack.length - 1]?.col ?? -1) >= col) stack.pop();
    stack.push({ col, segment });
  };
  for (const line of lines) {
    if (/^\s*(#.*)?$/.test(line)) continue;
    const parts = LINE.exec(line);
    if (!parts) continue;
    let col = parts[1]?.length ?? 0;
    for (const dash of (parts[2] ?? '').match(/-\s+/g) ?? []) {
      enter(col, '[]');
      col += dash.length;
    }
    const key = KEY.exec(parts[3] ?? '');
    if (key?.[1]) enter(col, key[1]);
    // A scalar item (`- a`) only opened the sequence item above.
  }
  const parts = LINE.exec(current);
  if (!parts) return null;
  let col = parts[1]?.length ?? 0;
  for (const dash of (parts[2] ?? '').match(/-\s+/g) ?? []) {
    enter(col, '[]');
    col += dash.length;
  }
  const rest = parts[3] ?? '';
  while (stack.length > 0 && (stack[stack.length - 1]?.col ?? -1) >= col) stack.pop();
  const path = stack.map((f) => f.segment);
  const value = /^([A-Za-z_][\w.-]*)\s*:\s*([\w.-]*)$/.exec(rest);
  if (value?.[1] !== undefined) return { path, kind: 'value', key: value[1], prefix: value[2] ?? '' };
  if (/^[\w.-]*$/.test(rest)) return { path, kind: 'key', prefix: rest };
  return null;
}
