import jsep from 'jsep';

/** A parsed expression and where each node starts in its text (0-based offsets). */
export interface ParsedExpression {
  readonly ast: jsep.Expression;
  /** Offset of a node in the expression text; see {@link startOf} for nodes without an entry. */
  readonly starts: WeakMap<jsep.Expression, number>;
}

/** A syntax error at `offset` (0-based) in the expression text. */
export class ExpressionSyntaxError extends Error {
  constructor(
    readonly description: string,
    readonly offset: number,
  ) {
    super(description);
    this.name = 'ExpressionSyntaxError';
  }
}

/** The operators the rule language gives a meaning to; jsep knows a few more (bitwise, shifts). */
export const BINARY_OPERATORS = new Set([
  '||',
  '??',
  '&&',
  '==',
  '!=',
  '===',
  '!==',
  '<',
  '>',
  '<=',
  '>=',
  'in',
  '+',
  '-',
  '*',
  '/',
  '%',
  '**',
]);

// jsep keeps its operator table on the class, so `in` has to be registered there; same precedence as
// `<` in JavaScript. Registering twice is harmless, which keeps this safe under module reloading.
if (!Object.hasOwn(jsep.binary_ops, 'in')) jsep.addBinaryOp('in', 7);

/** The parts of jsep's parser class that the position-recording subclass relies on. */
interface JsepParser {
  index: number;
  readonly expr: string;
  parse(): jsep.Expression;
  gobbleSpaces(): void;
  gobbleToken(): jsep.Expression | false;
  gobbleBinaryOp(): string | false;
  throwError(message: string): never;
}
type JsepParserClass = new (expr: string) => JsepParser;

// jsep's typings describe only the function; the class is exported on it at run time.
const JsepBase = (jsep as unknown as { Jsep: JsepParserClass }).Jsep;

/**
 * jsep's nodes carry no positions. This subclass records where each token starts so load errors
 * ("unknown function") can point at a column, without hooks that would change jsep for other users.
 */
class PositionedParser extends JsepBase {
  readonly starts = new WeakMap<jsep.Expression, number>();

  override gobbleToken(): jsep.Expression | false {
    this.gobbleSpaces();
    const start = this.index;
    const node = super.gobbleToken();
    if (node) this.markChain(node, start);
    return node;
  }

  override gobbleBinaryOp(): string | false {
    this.gobbleSpaces();
    const start = this.index;
    const op = super.gobbleBinaryOp();
    if (op !== false && !BINARY_OPERATORS.has(op)) {
      this.index = start;
      this.throwError(`operator ${op} is not part of the rule language`);
    }
    return op;
  }

  /** A token like `a.b.c(1)` is one chain of member and call nodes; they all start where it starts. */
  private markChain(node: jsep.Expression, start: number): void {
    let current: jsep.Expression | undefined = node;
    while (current && !this.starts.has(current)) {
      this.starts.set(current, start);
      const next: unknown = current.type === 'MemberExpression' ? current.object : current.callee;
      current = isNode(next) ? next : undefined;
    }
  }
}

function isNode(value: unknown): value is jsep.Expression {
  return (
    typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string'
  );
}

/** Parses `text` with jsep; syntax errors become {@link ExpressionSyntaxError} with their offset. */
export function parseExpression(text: string): ParsedExpression {
  const parser = new PositionedParser(text);
  try {
    return { ast: parser.parse(), starts: parser.starts };
  } catch (err) {
    if (err instanceof Error && typeof (err as { index?: unknown }).index === 'number') {
      const { index, description } = err as Error & { index: number; description?: unknown };
      throw new ExpressionSyntaxError(typeof description === 'string' ? description : err.message, index);
    }
    throw err;
  }
}

/** Where a node starts: its own record, else that of its leftmost child (binary and ternary nodes). */
export function startOf(parsed: ParsedExpression, node: jsep.Expression): number {
  let current: jsep.Expression = node;
  for (;;) {
    const start = parsed.starts.get(current);
    if (start !== undefined) return start;
    const next: unknown =
      current.type === 'BinaryExpression'
        ? current.left
        : current.type === 'ConditionalExpression'
          ? current.test
          : current.type === 'Compound'
            ? (current.body as unknown[])[0]
            : undefined;
    if (!isNode(next)) return 0;
    current = next;
  }
}
