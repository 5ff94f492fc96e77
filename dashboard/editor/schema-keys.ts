/** Just enough of JSON Schema (draft 2020-12, as zod generates it) to walk it for completion. */
export interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  allOf?: SchemaNode[];
  enum?: unknown[];
  const?: unknown;
  description?: string;
  $defs?: Record<string, SchemaNode>;
}

export interface Suggestion {
  label: string;
  detail?: string;
}

/** Resolves `$ref`s and flattens `anyOf`/`oneOf`/`allOf` into the alternatives a value may be. */
function alternatives(
  root: SchemaNode,
  node: SchemaNode | undefined,
  seen = new Set<SchemaNode>(),
): SchemaNode[] {
  if (!node || seen.has(node)) return [];
  seen.add(node);
  if (node.$ref?.startsWith('#/$defs/')) return alternatives(root, root.$defs?.[node.$ref.slice(8)], seen);
  const nested = [...(node.anyOf ?? []), ...(node.oneOf ?? []), ...(node.allOf ?? [])];
  return [node, ...nested.flatMap((n) => alternatives(root, n, seen))];
}

/** The schema nodes a path (`['rules', '[]', 'when']`) may lead to. */
export function nodesAt(root: SchemaNode, path: readonly string[]): SchemaNode[] {
  let nodes = alternatives(root, root);
  for (const segment of path) {
    const next: SchemaNode[] = [];
    for (const n of nodes) {
      const child = segment === '[]' ? n.items : n.properties?.[segment];
      next.push(...alternatives(root, child));
    }
    nodes = next;
  }
  return nodes;
}

/** The keys a mapping at `path` may have, each with its description. */
export function keysAt(root: SchemaNode, path: readonly string[]): Suggestion[] {
  const out = new Map<string, Suggestion>();
  for (const n of nodesAt(root, path)) {
    for (const [label, child] of Object.entries(n.properties ?? {})) {
      if (out.has(label)) continue;
      const description =
        child.description ?? alternatives(root, child).find((a) => a.description)?.description;
      out.set(label, description === undefined ? { label } : { label, detail: description });
    }
  }
  return [...out.values()];
}

/** The fixed values (enums, consts, booleans) `key` at `path` may take. */
export function valuesAt(root: SchemaNode, path: readonly string[], key: string): Suggestion[] {
  const out = new Set<string>();
  for (const n of nodesAt(root, [...path, key])) {
    for (const v of [...(n.enum ?? []), ...(n.const === undefined ? [] : [n.const])])
      out.add(typeof v === 'string' ? v : JSON.stringify(v));
    const types = Array.isArray(n.type) ? n.type : n.type === undefined ? [] : [n.type];
    if (types.includes('boolean')) for (const b of ['true', 'false']) out.add(b);
  }
  return [...out].map((label) => ({ label }));
}
