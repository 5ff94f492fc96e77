import { describe, expect, it } from 'vitest';
import type { AlertRecord, RuleStateStore } from './rule-state-store.js';

/**
 * The one suite every {@link RuleStateStore} must pass. `open` returns a store over the same
 * backing data each time it is called within one test (a reopened file for SQLite).
 */
export function ruleStateStoreContract(
  name: string,
  setup: () => { open: () => RuleStateStore; cleanup: () => void },
): void {
  describe(`RuleStateStore contract: ${name}`, () => {
    const alert: AlertRecord = {
      key: 'hot/gh-1',
      severity: 'critical',
      message: 'gh-1 at 36',
      active: true,
      count: 1,
      source: 'hot',
      raisedAt: 1,
      lastRaisedAt: 1,
      clearedAt: null,
      acknowledgedAt: null,
    };

    it('puts, replaces and deletes entries, keyed by rule, slot and key', () => {
      const { open, cleanup } = setup();
      const store = open();
      store.put({ ruleId: 'a', fingerprint: 'f1', slot: 't0', key: 'gh-1', value: { armed: false } });
      store.put({ ruleId: 'a', fingerprint: 'f1', slot: 't0', key: 'gh-2', value: { armed: true } });
      store.put({
        ruleId: 'a',
        fingerprint: 'f2',
        slot: 't0',
        key: 'gh-1',
        value: { armed: true, last: null },
      });
      store.put({ ruleId: 'b', fingerprint: 'f3', slot: 'vars', key: '', value: { n: 1 } });
      store.delete('a', 't0', 'gh-2');
      store.delete('a', 'nope', 'x');
      expect(sorted(store.entries())).toEqual([
        { ruleId: 'a', fingerprint: 'f2', slot: 't0', key: 'gh-1', value: { armed: true, last: null } },
        { ruleId: 'b', fingerprint: 'f3', slot: 'vars', key: '', value: { n: 1 } },
      ]);
      store.close();
      cleanup();
    });

    it('deletes a rule’s entries, optionally keeping some slots', () => {
      const { open, cleanup } = setup();
      const store = open();
      for (const slot of ['t0', 'k', 'vars'])
        store.put({ ruleId: 'a', fingerprint: 'f', slot, key: 'x', value: 1 });
      store.put({ ruleId: 'b', fingerprint: 'f', slot: 't0', key: 'x', value: 2 });
      store.deleteRule('a', ['vars']);
      expect(sorted(store.entries()).map((e) => `${e.ruleId}.${e.slot}`)).toEqual(['a.vars', 'b.t0']);
      store.deleteRule('a');
      expect(store.entries().map((e) => e.ruleId)).toEqual(['b']);
      store.close();
      cleanup();
    });

    it('keeps values as JSON: what a caller changes afterwards is not stored', () => {
      const { open, cleanup } = setup();
      const store = open();
      const value = { fired: [1, 2] };
      store.put({ ruleId: 'a', fingerprint: 'f', slot: 't0', key: 'k', value });
      value.fired.push(3);
      const [entry] = store.entries();
      (entry?.value as { fired: number[] }).fired.push(4);
      expect(store.entries()[0]?.value).toEqual({ fired: [1, 2] });
      store.close();
      cleanup();
    });

    it('keeps alerts by key', () => {
      const { open, cleanup } = setup();
      const store = open();
      store.putAlert(alert);
      store.putAlert({ ...alert, active: false, clearedAt: 5 });
      store.putAlert({ ...alert, key: 'other' });
      expect(store.alerts().sort((a, b) => a.key.localeCompare(b.key))).toEqual([
        { ...alert, active: false, clearedAt: 5 },
        { ...alert, key: 'other' },
      ]);
      store.close();
      cleanup();
    });

    it('survives being closed and opened again', () => {
      const { open, cleanup } = setup();
      const first = open();
      first.put({ ruleId: 'a', fingerprint: 'f', slot: 'run', key: 'r1', value: { dueAt: 10 } });
      first.putAlert(alert);
      first.close();
      first.close();
      const second = open();
      expect(second.entries()).toEqual([
        { ruleId: 'a', fingerprint: 'f', slot: 'run', key: 'r1', value: { dueAt: 10 } },
      ]);
      expect(second.alerts()).toEqual([alert]);
      second.close();
      cleanup();
    });
  });
}

function sorted<T extends { ruleId: string; slot: string; key: string }>(list: T[]): T[] {
  return [...list].sort((a, b) =>
    `${a.ruleId}|${a.slot}|${a.key}`.localeCompare(`${b.ruleId}|${b.slot}|${b.key}`),
  );
}
