import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ruleStateStoreContract } from './rule-state-store.contract.js';
import { MemoryRuleStateStore } from './rule-state-store.js';
import { SqliteRuleStateStore } from './sqlite-rule-state-store.js';

ruleStateStoreContract('memory', () => {
  const store = new MemoryRuleStateStore();
  return { open: () => store, cleanup: () => undefined };
});

ruleStateStoreContract('sqlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgehub-rule-state-'));
  return {
    open: () => new SqliteRuleStateStore(new Database(join(dir, 'rules.db')), true),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});

ruleStateStoreContract('sqlite, opened on first use', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgehub-rule-state-'));
  return {
    open: () => new SqliteRuleStateStore(() => new Database(join(dir, 'rules.db')), true),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
});
