import { EdgehubError, type SourceLocation } from '../../kernel/index.js';
import type { RuleFileText } from './loader.js';
import { RuleSource } from './rule-source.js';
import { parseFilter } from './topic-index.js';

/**
 * Static loop detection: a rule whose actions publish to a topic its own trigger matches, or rules
 * that trigger each other in a cycle. Works on the rule files as written (not the compiled set) so
 * every warning can point at the publishing action, and so it stays independent of how the engine
 * represents actions. Conditions are not evaluated: a warning means "may loop", and the run-time
 * loop breaker is what actually stops one.
 */

/** A topic level that stands for any one level: a `{{ … }}` template in a published topic. */
const ANY = '\u0000any';

/** Where a rule may send messages: a topic pattern and the action that sends it. */
interface Output {
  /** The topic as written, for messages. */
  readonly text: string;
  /** Levels; `ANY` for a templated level. */
  readonly levels: readonly string[];
  readonly location: SourceLocation;
}

/** What a rule listens to: an MQTT filter as written and its levels (`+`, `#` wildcards). */
interface Input {
  readonly text: string;
  readonly levels: readonly string[];
}

interface RuleFlow {
  readonly id: string;
  readonly inputs: readonly Input[];
  readonly outputs: readonly Output[];
}

interface Edge {
  readonly from: RuleFlow;
  readonly to: RuleFlow;
  readonly output: Output;
  readonly input: Input;
}

/**
 * Every possible loop in a rules directory, as `RULE_POSSIBLE_LOOP` warnings located at the publish
 * (or command) action that closes it, in file and line order. Files that do not parse are skipped:
 * their errors are reported by the loader.
 */
export function findRuleLoops(files: readonly RuleFileText[]): EdgehubError[] {
  const flows = files.flatMap(flowsOf);
  const edges: Edge[] = [];
  for (const from of flows) {
    for (const output of from.outputs) {
      for (const to of flows) {
        const input = to.inputs.find((i) => overlaps(output.levels, i.levels));
        if (input) edges.push({ from, to, output, input });
      }
    }
  }
  const component = stronglyConnected(flows, edges);
  const warnings: EdgehubError[] = [];
  for (const edge of edges) {
    const { from, to, output, input } = edge;
    if (from === to) {
      warnings.push(
        warning(
          `rule "${from.id}" publishes to "${output.text}", which its own trigger "${input.text}" matches: a possible loop`,
          output.location,
        ),
      );
      continue;
    }
    if (component.get(from) !== component.get(to)) continue;
    const back = shortestPath(to, from, edges, component);
    const cycle = [from.id, ...back.map((f) => f.id)].join(' → ');
    warnings.push(
      warning(
        `rule "${from.id}" publishes to "${output.text}", which triggers rule "${to.id}" ("${input.text}"); ${cycle} is a possible loop`,
        output.location,
      ),
    );
  }
  const order = new Map(files.map((f, i) => [f.file, i]));
  return warnings.sort(
    (a, b) =>
      (order.get(a.location?.file ?? '') ?? 0) - (order.get(b.location?.file ?? '') ?? 0) ||
      (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
      (a.location?.col ?? 0) - (b.location?.col ?? 0),
  );
}

function warning(message: string, location: SourceLocation): EdgehubError {
  return new EdgehubError('RULE_POSSIBLE_LOOP', message, { location });
}

/** True when some concrete topic is both produced by `topic` and matched by `filter` (MQTT rules). */
export function topicsOverlap(topic: readonly string[], filter: readonly string[]): boolean {
  // MQTT: filters starting with a wildcard never match topics starting with `$`.
  const first = topic[0];
  if (
    first !== undefined &&
    first !== ANY &&
    first.startsWith('$') &&
    (filter[0] === '+' || filter[0] === '#')
  )
    return false;
  for (let i = 0; ; i++) {
    const f = filter[i];
    const t = topic[i];
    if (f === '#') return true; // `a/#` matches `a` and everything below it
    if (f === undefined || t === undefined) return f === undefined && t === undefined;
    if (f !== '+' && t !== ANY && f !== t) return false;
  }
}

const overlaps = topicsOverlap;

/** A published topic's levels, each `{{ … }}`-templated level a wildcard. */
export function publishedLevels(topic: string): string[] {
  // Templates may contain `/` (division), so they are taken out before splitting into levels.
  const masked = topic.replace(/\{\{[\s\S]*?\}\}/g, '\u0001');
  return masked.split('/').map((level) => (level.includes('\u0001') ? ANY : level));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A device id glob (`gh-*`) or template stands for any one level. */
function deviceLevel(id: string): string {
  return /[*?[{]/.test(id) ? '+' : id;
}

function inputsOf(when: unknown): Input[] {
  const list = Array.isArray(when) ? when : [when];
  const inputs: Input[] = [];
  for (const trigger of list) {
    if (!isRecord(trigger)) continue;
    if (typeof trigger.mqtt === 'string') {
      const parsed = parseFilter(trigger.mqtt);
      if (!('error' in parsed)) inputs.push({ text: trigger.mqtt, levels: parsed.levels });
    }
    // Device triggers fire on what the registry learns from edgehub's topic convention: readings
    // on `sensors/<device>/<metric>` and actuator states on `actuators/<device>/<name>/state`.
    if (typeof trigger.device === 'string' && typeof trigger.metric === 'string') {
      const device = deviceLevel(trigger.device);
      for (const text of [
        `sensors/${device}/${trigger.metric}`,
        `actuators/${device}/${trigger.metric}/state`,
      ])
        inputs.push({ text, levels: text.split('/') });
    }
  }
  return inputs;
}

/**
 * Calls `visit` for each publish and command action anywhere under `node` (then, else, and nested
 * branches such as `choose`) with the topic it sends to, as written and as levels, and where the
 * action is.
 */
function walkOutputs(
  node: unknown,
  path: PropertyKey[],
  visit: (text: string, levels: string[], path: PropertyKey[]) => void,
): void {
  if (Array.isArray(node)) {
    node.forEach((item: unknown, i) => walkOutputs(item, [...path, i], visit));
    return;
  }
  if (!isRecord(node)) return;
  const publish = node.publish;
  if (isRecord(publish) && typeof publish.topic === 'string') {
    visit(publish.topic, publishedLevels(publish.topic), [...path, 'publish', 'topic']);
  }
  // A command to an MQTT device goes out on `actuators/<device>/<key>` for each key it sets.
  const command = node.command;
  if (isRecord(command) && typeof command.device === 'string' && isRecord(command.set)) {
    const device = command.device.includes('{{') ? ANY : command.device;
    for (const key of Object.keys(command.set)) {
      visit(`actuators/${command.device}/${key}`, ['actuators', device, key], [...path, 'command']);
    }
  }
  for (const [key, value] of Object.entries(node)) {
    if (key !== 'publish' && key !== 'command' && typeof value === 'object') {
      walkOutputs(value, [...path, key], visit);
    }
  }
}

function outputsOf(source: RuleSource, node: unknown, path: PropertyKey[], out: Output[]): void {
  walkOutputs(node, path, (text, levels, at) => out.push({ text, levels, location: source.at(at) }));
}

/**
 * Where a rule as written listens and where it may send, as topic levels (`+`/`#` in inputs, a
 * templated output level stands for any one). What the run-time loop guard reads to tell a
 * rule's own echo from a busy sensor.
 */
export interface RuleTopics {
  readonly inputs: readonly (readonly string[])[];
  readonly outputs: readonly (readonly string[])[];
}

export function ruleTopics(rule: { when: unknown; then?: unknown; else?: unknown }): RuleTopics {
  const outputs: string[][] = [];
  const collect = (_text: string, levels: string[]): void => void outputs.push(levels);
  walkOutputs(rule.then, [], collect);
  walkOutputs(rule.else, [], collect);
  return { inputs: inputsOf(rule.when).map((i) => i.levels), outputs };
}

function flowsOf(file: RuleFileText): RuleFlow[] {
  let source: RuleSource;
  try {
    source = RuleSource.parse(file.file, file.text);
  } catch {
    return [];
  }
  const data = source.toJS();
  const rules = isRecord(data) && Array.isArray(data.rules) ? (data.rules as unknown[]) : [];
  const flows: RuleFlow[] = [];
  rules.forEach((rule, i) => {
    if (!isRecord(rule) || typeof rule.id !== 'string' || rule.enabled === false) return;
    const outputs: Output[] = [];
    outputsOf(source, rule.then, ['rules', i, 'then'], outputs);
    outputsOf(source, rule.else, ['rules', i, 'else'], outputs);
    flows.push({ id: rule.id, inputs: inputsOf(rule.when), outputs });
  });
  return flows;
}

/** Tarjan's algorithm: the strongly connected component of each rule, as a number. */
function stronglyConnected(flows: readonly RuleFlow[], edges: readonly Edge[]): Map<RuleFlow, number> {
  const next = new Map<RuleFlow, RuleFlow[]>();
  for (const e of edges) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  const index = new Map<RuleFlow, number>();
  const low = new Map<RuleFlow, number>();
  const onStack = new Set<RuleFlow>();
  const stack: RuleFlow[] = [];
  const component = new Map<RuleFlow, number>();
  let counter = 0;
  let components = 0;
  const visit = (v: RuleFlow): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) === index.get(v)) {
      for (;;) {
        const w = stack.pop();
        if (!w) break;
        onStack.delete(w);
        component.set(w, components);
        if (w === v) break;
      }
      components++;
    }
  };
  for (const f of flows) if (!index.has(f)) visit(f);
  return component;
}

/** The rules from `start` to `goal` (both included), staying inside their component; breadth first. */
function shortestPath(
  start: RuleFlow,
  goal: RuleFlow,
  edges: readonly Edge[],
  component: ReadonlyMap<RuleFlow, number>,
): RuleFlow[] {
  const c = component.get(start);
  const previous = new Map<RuleFlow, RuleFlow | null>([[start, null]]);
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift();
    if (!v || v === goal) break;
    for (const e of edges) {
      if (e.from !== v || previous.has(e.to) || component.get(e.to) !== c) continue;
      previous.set(e.to, v);
      queue.push(e.to);
    }
  }
  const path: RuleFlow[] = [];
  for (let v: RuleFlow | null | undefined = goal; v; v = previous.get(v)) path.unshift(v);
  return path;
}

/**
 * Whether a run started by a trigger may be the rule's own echo coming back through a device (a
 * command whose state returns): `never` when no message the trigger takes can come from the
 * rule's chain, else the topic patterns such a message would be on. The run-time rate guard counts
 * only runs whose input matches, so a busy sensor never trips it.
 */
export type TriggerFeed = 'never' | readonly (readonly string[])[];

interface FeedRule {
  readonly id: string;
  readonly enabled: boolean;
  /** Where the rule's actions may publish, as levels ({@link ruleTopics}). */
  readonly outputs: readonly (readonly string[])[];
  readonly triggers: readonly FeedTrigger[];
}

type FeedTrigger =
  | { readonly kind: 'mqtt'; readonly filter: { readonly levels: readonly string[] } }
  | { readonly kind: 'reading'; readonly device: { readonly exact: string | null }; readonly metric: string }
  | { readonly kind: string };

/**
 * Per rule and trigger (by index), the {@link TriggerFeed}: the topics the rule's chain sends to are
 * its own outputs and those of every rule they trigger, on and on, each also with `/state`
 * appended (where a device reports the state a command set).
 */
export function loopFeeds(rules: readonly FeedRule[]): Map<string, TriggerFeed[]> {
  const enabled = rules.filter((r) => r.enabled);
  const inputs = new Map(enabled.map((r) => [r, r.triggers.flatMap(triggerLevels)]));
  const echoes = (outputs: readonly (readonly string[])[]): (readonly string[])[] =>
    outputs.flatMap((o) => [o, [...o, 'state']]);
  const feeds = new Map<string, TriggerFeed[]>();
  for (const rule of enabled) {
    const chain = new Set<FeedRule>([rule]);
    const patterns = echoes(rule.outputs);
    for (let grew = true; grew;) {
      grew = false;
      for (const other of enabled) {
        if (chain.has(other)) continue;
        const fed = (inputs.get(other) ?? []).some((i) => patterns.some((p) => topicsOverlap(p, i)));
        if (!fed) continue;
        chain.add(other);
        patterns.push(...echoes(other.outputs));
        grew = true;
      }
    }
    feeds.set(
      rule.id,
      rule.triggers.map((t) => {
        const levels = triggerLevels(t);
        const reach = patterns.filter((p) => levels.some((l) => topicsOverlap(p, l)));
        return reach.length === 0 ? 'never' : reach;
      }),
    );
  }
  return feeds;
}

/** Whether a concrete topic is one of a feed's patterns. */
export function feedMatches(feed: TriggerFeed, topic: string): boolean {
  if (feed === 'never') return false;
  const levels = topic.split('/');
  return feed.some((p) =>
    topicsOverlap(
      levels,
      p.map((l) => (l === ANY ? '+' : l)),
    ),
  );
}

/** The topics a trigger takes messages on, as filters; none for schedules, events and status. */
function triggerLevels(t: FeedTrigger): (readonly string[])[] {
  if (t.kind === 'mqtt' && 'filter' in t) return [t.filter.levels];
  if (t.kind === 'reading' && 'metric' in t) {
    const device = t.device.exact ?? '+';
    return [
      ['sensors', device, t.metric],
      ['actuators', device, t.metric, 'state'],
    ];
  }
  return [];
}
