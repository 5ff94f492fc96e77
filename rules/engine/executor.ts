import { errorMessage } from '../../kernel/index.js';
import { runAction, type ActionContext } from './actions.js';
import type { Scope } from '../language/expression/scope.js';
import { toText } from '../language/expression/values.js';
import type { Action, Rule } from '../language/rule.js';
import type { TriggerDefinition } from '../language/schema/triggers.js';
import { evaluateConditions, type ConditionEnv } from './conditions.js';
import type { RunPosition, RunState } from './rule-runtime.js';

/** What the executor needs from the engine. */
export interface ExecutorHost {
  readonly actions: ActionContext;
  readonly conditions: ConditionEnv;
  /** The run's scope as of now (vars and `now` are read fresh for each action). */
  scopeOf(run: RunState): Scope;
  /** Parks the run: stores where it continues and arranges to wake it. */
  park(
    run: RunState,
    position: RunPosition,
    on: { kind: 'delay'; dueAt: number } | { kind: 'wait'; dueAt: number; trigger: TriggerDefinition },
  ): void;
  /** Sets rule variables (persisted). */
  setVars(run: RunState, values: Readonly<Record<string, unknown>>): void;
  now(): number;
}

/** `done` when the run ended (finished, failed or cancelled); `parked` when it waits on a delay or wait. */
export type ExecuteOutcome = 'done' | 'parked';

/** The action list at `ref` (`then`, `else`, `then/2/choose/0`, `then/2/default`), or null. */
export function listAt(rule: Rule, ref: string): readonly Action[] | null {
  // The top-level lists are looked up for every action a run takes; they need no parsing.
  if (ref === 'then') return rule.then;
  if (ref === 'else') return rule.else;
  const parts = ref.split('/');
  let list: readonly Action[] | null =
    parts[0] === 'then' ? rule.then : parts[0] === 'else' ? rule.else : null;
  let i = 1;
  while (list && i < parts.length) {
    const action: Action | undefined = list[Number(parts[i])];
    if (action?.kind !== 'choose') return null;
    if (parts[i + 1] === 'default') {
      list = action.otherwise;
      i += 2;
    } else if (parts[i + 1] === 'choose') {
      list = action.options[Number(parts[i + 2])]?.then ?? null;
      i += 3;
    } else return null;
  }
  return list;
}

/** The nesting of lists down to `pos`, outermost first; each outer frame sits on its `choose`. */
function framesFor(pos: RunPosition): { list: string; index: number }[] {
  if (!pos.list.includes('/')) return [{ list: pos.list, index: pos.index }];
  const parts = pos.list.split('/');
  const frames: { list: string; index: number }[] = [];
  let ref = parts[0] ?? 'then';
  let i = 1;
  while (i < parts.length) {
    const index = Number(parts[i]);
    frames.push({ list: ref, index });
    if (parts[i + 1] === 'default') {
      ref = `${ref}/${index}/default`;
      i += 2;
    } else {
      ref = `${ref}/${index}/choose/${parts[i + 2] ?? '0'}`;
      i += 3;
    }
  }
  frames.push({ list: ref, index: pos.index });
  return frames;
}

/** `then/2/choose/0` + 1 → `then[2].choose[0].then[1]`, the path a person finds in the file. */
export function actionPath(ref: string, index: number): string {
  if (!ref.includes('/')) return `${ref}[${index}]`;
  const parts = ref.split('/');
  let out = parts[0] ?? '';
  let i = 1;
  while (i < parts.length) {
    if (parts[i + 1] === 'default') {
      out += `[${parts[i]}].default`;
      i += 2;
    } else {
      out += `[${parts[i]}].choose[${parts[i + 2]}].then`;
      i += 3;
    }
  }
  return `${out}[${index}]`;
}

function renderWaitTrigger(action: Extract<Action, { kind: 'wait' }>, scope: Scope): TriggerDefinition {
  const out: TriggerDefinition = { ...action.trigger };
  for (const { key, template } of action.templates) out[key] = toText(template.render(scope));
  return out;
}

/**
 * Runs a rule's actions from `from` until the end, a failure, a cancellation, or a delay/wait
 * (which parks the run: the engine stores the position and calls this again when it wakes).
 * Synchronous while every action finishes at once (a QoS 0 publish, a log, a choose, a set), so a
 * run that does only such things starts and ends within the message that triggered it; from the
 * first action that returns a promise on, the rest runs when it settles and the outcome is a promise.
 */
export function execute(
  run: RunState,
  from: RunPosition,
  host: ExecutorHost,
): ExecuteOutcome | Promise<ExecuteOutcome> {
  const rule = run.runtime.rule;
  const frames = framesFor(from);
  for (;;) {
    const frame = frames.at(-1);
    if (!frame) return 'done';
    const list = listAt(rule, frame.list);
    const action = list?.[frame.index];
    if (!action) {
      frames.pop();
      const parent = frames.at(-1);
      if (parent) parent.index++;
      continue;
    }
    if (run.cancelled !== null) return 'done';
    const at = actionPath(frame.list, frame.index);
    const scope = host.scopeOf(run);
    try {
      switch (action.kind) {
        case 'choose': {
          let picked = -1;
          const seen: string[] = [];
          for (let i = 0; i < action.options.length && picked < 0; i++) {
            const option = action.options[i];
            if (!option) continue;
            const { held, results } = evaluateConditions(option.conditions, scope, host.conditions);
            seen.push(
              `[${i}] ${results.map((r) => `${r.expression} → ${JSON.stringify(r.value)}`).join(', ')}`,
            );
            if (held) picked = i;
          }
          const chosen = picked >= 0 ? (action.options[picked]?.then ?? []) : action.otherwise;
          const name = picked >= 0 ? `choose[${picked}]` : action.otherwise.length > 0 ? 'default' : 'none';
          run.actions.push({
            kind: 'choose',
            at,
            ok: true,
            detail: `${name}; ${seen.join('; ')}`,
            error: null,
          });
          if (chosen.length === 0) {
            frame.index++;
          } else {
            const sub = picked >= 0 ? `choose/${picked}` : 'default';
            frames.push({ list: `${frame.list}/${frame.index}/${sub}`, index: 0 });
          }
          break;
        }
        case 'delay': {
          const dueAt = host.now() + action.ms;
          run.actions.push({ kind: 'delay', at, ok: true, detail: `${action.ms} ms`, error: null });
          host.park(run, { list: frame.list, index: frame.index + 1 }, { kind: 'delay', dueAt });
          return 'parked';
        }
        case 'wait': {
          const trigger = renderWaitTrigger(action, scope);
          const dueAt = host.now() + action.timeoutMs;
          run.actions.push({ kind: 'wait', at, ok: true, detail: JSON.stringify(trigger), error: null });
          host.park(run, { list: frame.list, index: frame.index + 1 }, { kind: 'wait', dueAt, trigger });
          return 'parked';
        }
        case 'set': {
          const values: Record<string, unknown> = {};
          for (const { name, value } of action.vars)
            values[name] = 'literal' in value ? value.literal : value.evaluate(scope);
          host.setVars(run, values);
          run.actions.push({
            kind: 'set',
            at,
            ok: true,
            detail: JSON.stringify(values).slice(0, 200),
            error: null,
          });
          frame.index++;
          break;
        }
        default: {
          const result = runAction(action, scope, rule, host.actions, run.input);
          if (result instanceof Promise) {
            // An http call may take seconds (timeouts, retries): the run holds its key meanwhile.
            run.busy = action.kind === 'http';
            const next = { list: frame.list, index: frame.index + 1 };
            return result.then(
              (done) => {
                run.busy = false;
                run.actions.push({ ...done, at });
                return execute(run, next, host);
              },
              (err: unknown) => {
                run.busy = false;
                return failed(run, action.kind, at, err);
              },
            );
          }
          run.actions.push({ ...result, at });
          frame.index++;
        }
      }
    } catch (err) {
      return failed(run, action.kind, at, err);
    }
  }
}

/**
 * Ends a run at a failed action. The rest of its actions may depend on the failed one, so they are
 * skipped; other rules and other runs are unaffected.
 */
function failed(run: RunState, kind: Action['kind'], at: string, err: unknown): 'done' {
  run.error = `${kind} failed: ${errorMessage(err)}`;
  run.actions.push({ kind, at, ok: false, detail: '', error: errorMessage(err) });
  return 'done';
}
