import type jsep from 'jsep';
import { EdgehubError, type SourceLocation } from '../../../kernel/index.js';
import { FUNCTIONS, isFunctionName } from './functions.js';
import { ExpressionSyntaxError, parseExpression, startOf, type ParsedExpression } from './parser.js';
import type { Scope } from './scope.js';
import { BLOCKED_NAMES, contains, finiteOrNull, getMember, jsonEqual, toText, truthy } from './values.js';

/** A compiled expression: a tree of closures, evaluated without `eval` and without throwing. */
export type Evaluator = (scope: Scope) => unknown;

export interface CompiledExpression {
  /** The expression as written. */
  readonly source: string;
  readonly evaluate: Evaluator;
}

/** Maps a 0-based offset inside an expression's text to where that character sits in a file. */
export type OffsetLocator = (offset: number) => SourceLocation;

/**
 * Compiles an expression of the rule language. Syntax errors, unknown functions and unsupported
 * syntax throw {@link EdgehubError} `RULE_EXPRESSION_INVALID`, located through `locate` when given
 * and always naming the column inside the expression.
 */
export function compileExpression(text: string, locate?: OffsetLocator): CompiledExpression {
  let parsed: ParsedExpression;
  try {
    parsed = parseExpression(text);
  } catch (err) {
    if (err instanceof ExpressionSyntaxError)
      throw expressionError(text, err.offset, err.description, locate);
    throw err;
  }
  const evaluate = new Compiler(text, parsed, locate).compile(parsed.ast);
  return { source: text, evaluate };
}

function expressionError(
  text: string,
  offset: number,
  description: string,
  locate: OffsetLocator | undefined,
): EdgehubError {
  // JSON quoting keeps a multi-line (block scalar) expression on one line of the message.
  const message = `${description} (column ${offset + 1} of expression ${JSON.stringify(text)})`;
  return new EdgehubError('RULE_EXPRESSION_INVALID', message, locate ? { location: locate(offset) } : {});
}

const SCOPE_READERS: Readonly<Record<string, Evaluator>> = Object.assign(
  Object.create(null) as Record<string, Evaluator>,
  {
    payload: (s: Scope) => s.payload,
    topic: (s: Scope) => s.topic,
    levels: (s: Scope) => s.levels,
    trigger: (s: Scope) => s.trigger,
    vars: (s: Scope) => s.vars,
    now: (s: Scope) => s.now,
    wait: (s: Scope) => s.wait,
  },
);

const NULL: Evaluator = () => null;
const NO_ARGS: readonly unknown[] = Object.freeze([]);

function lt(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a < b;
  if (typeof a === 'string' && typeof b === 'string') return a < b;
  return false;
}
function le(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a <= b;
  if (typeof a === 'string' && typeof b === 'string') return a <= b;
  return false;
}

/** `+` adds numbers and joins text; anything else (null from a missing member) gives null. */
function plus(a: unknown, b: unknown): unknown {
  if (typeof a === 'number' && typeof b === 'number') return finiteOrNull(a + b);
  if (typeof a === 'string' || typeof b === 'string') return toText(a) + toText(b);
  return null;
}

type NumberOp = (a: number, b: number) => number;
const NUMBER_OPS: Readonly<Record<string, NumberOp>> = {
  '-': (a, b) => a - b,
  '*': (a, b) => a * b,
  '/': (a, b) => a / b,
  '%': (a, b) => a % b,
  '**': (a, b) => a ** b,
};

class Compiler {
  constructor(
    private readonly text: string,
    private readonly parsed: ParsedExpression,
    private readonly locate: OffsetLocator | undefined,
  ) {}

  compile(node: jsep.Expression): Evaluator {
    const n = node as jsep.CoreExpression;
    switch (n.type) {
      case 'Literal':
        return this.literal(n);
      case 'Identifier':
        return this.identifier(n.name);
      case 'MemberExpression':
        return this.member(n);
      case 'CallExpression':
        return this.call(n);
      case 'UnaryExpression':
        return this.unary(n);
      case 'BinaryExpression':
        return this.binary(n);
      case 'ConditionalExpression': {
        const test = this.compile(n.test);
        const yes = this.compile(n.consequent);
        const no = this.compile(n.alternate);
        return (s) => (truthy(test(s)) ? yes(s) : no(s));
      }
      case 'ArrayExpression':
        return this.array(n);
      case 'Compound':
        if (n.body.length === 0) throw this.fail(0, 'empty expression');
        throw this.fail(
          startOf(this.parsed, n.body[1] ?? n),
          'unexpected second expression (is an operator missing?)',
        );
      case 'SequenceExpression':
        throw this.fail(startOf(this.parsed, n), 'a list of expressions is not a value');
      case 'ThisExpression':
        throw this.fail(startOf(this.parsed, n), '"this" is not a name in rules');
      default:
        throw this.fail(startOf(this.parsed, node), `unsupported syntax (${node.type})`);
    }
  }

  private fail(offset: number, description: string): EdgehubError {
    return expressionError(this.text, offset, description, this.locate);
  }

  private literal(n: jsep.Literal): Evaluator {
    const value = n.value;
    if (value instanceof RegExp)
      throw this.fail(startOf(this.parsed, n), 'regular expressions are not supported');
    return () => value;
  }

  private identifier(name: string): Evaluator {
    if (BLOCKED_NAMES.has(name)) return NULL;
    const reader = SCOPE_READERS[name];
    if (reader) return reader;
    // Any other name is a named capture of the trigger's filter, or null when it has none.
    return (s) => (Object.hasOwn(s.captures, name) ? (s.captures[name] ?? null) : null);
  }

  private member(n: jsep.MemberExpression): Evaluator {
    const object = this.compile(n.object);
    if (!n.computed) {
      const name = (n.property as jsep.Identifier).name;
      if (BLOCKED_NAMES.has(name)) return NULL;
      return (s) => getMember(object(s), name);
    }
    const key = this.compile(n.property);
    return (s) => getMember(object(s), key(s));
  }

  private call(n: jsep.CallExpression): Evaluator {
    const at = startOf(this.parsed, n);
    const callee = n.callee as jsep.CoreExpression;
    if (callee.type !== 'Identifier') throw this.fail(at, 'only the built-in functions can be called');
    const name = callee.name;
    const fn = isFunctionName(name) ? FUNCTIONS[name] : undefined;
    if (!fn) throw this.fail(at, `unknown function "${name}"; known: ${Object.keys(FUNCTIONS).join(', ')}`);
    const count = n.arguments.length;
    if (count < fn.minArgs || count > fn.maxArgs) {
      const wanted =
        fn.minArgs === fn.maxArgs
          ? `${fn.minArgs}`
          : fn.maxArgs === Infinity
            ? `at least ${fn.minArgs}`
            : `${fn.minArgs} to ${fn.maxArgs}`;
      throw this.fail(at, `${name}() takes ${wanted} argument${wanted === '1' ? '' : 's'}, got ${count}`);
    }
    const args = n.arguments.map((a) => this.compile(a));
    const [a0, a1] = args;
    if (count === 0) return (s) => fn.call(NO_ARGS, s);
    if (count === 1 && a0) return (s) => fn.call([a0(s)], s);
    if (count === 2 && a0 && a1) return (s) => fn.call([a0(s), a1(s)], s);
    return (s) =>
      fn.call(
        args.map((a) => a(s)),
        s,
      );
  }

  private unary(n: jsep.UnaryExpression): Evaluator {
    const arg = this.compile(n.argument);
    switch (n.operator) {
      case '!':
        return (s) => !truthy(arg(s));
      case '-':
        return (s) => {
          const v = arg(s);
          return typeof v === 'number' ? -v : null;
        };
      default:
        throw this.fail(startOf(this.parsed, n), `operator ${n.operator} is not part of the rule language`);
    }
  }

  private binary(n: jsep.BinaryExpression): Evaluator {
    const l = this.compile(n.left);
    const r = this.compile(n.right);
    switch (n.operator) {
      case '==':
      case '===':
        return (s) => jsonEqual(l(s), r(s));
      case '!=':
      case '!==':
        return (s) => !jsonEqual(l(s), r(s));
      case '<':
        return (s) => lt(l(s), r(s));
      case '>':
        return (s) => lt(r(s), l(s));
      case '<=':
        return (s) => le(l(s), r(s));
      case '>=':
        return (s) => le(r(s), l(s));
      case '&&':
        return (s) => {
          const a = l(s);
          return truthy(a) ? r(s) : a;
        };
      case '||':
        return (s) => {
          const a = l(s);
          return truthy(a) ? a : r(s);
        };
      case '??':
        return (s) => {
          const a = l(s);
          return a === null || a === undefined ? r(s) : a;
        };
      case 'in':
        return (s) => contains(r(s), l(s));
      case '+':
        return (s) => plus(l(s), r(s));
      default: {
        const op = NUMBER_OPS[n.operator];
        if (!op) {
          throw this.fail(startOf(this.parsed, n), `operator ${n.operator} is not part of the rule language`);
        }
        return (s) => {
          const a = l(s);
          const b = r(s);
          return typeof a === 'number' && typeof b === 'number' ? finiteOrNull(op(a, b)) : null;
        };
      }
    }
  }

  private array(n: jsep.ArrayExpression): Evaluator {
    const items: Evaluator[] = [];
    for (const element of n.elements) {
      if (element === null) throw this.fail(startOf(this.parsed, n), 'a list may not have empty slots');
      items.push(this.compile(element));
    }
    return (s) => items.map((item) => item(s));
  }
}
