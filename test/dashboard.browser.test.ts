import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDashboard } from '../scripts/build.js';
import { launchChromium } from './support/chromium.js';
import { collect, signalAndWait, spawnCli, waitForLog } from './support/hub-process.js';
import { TempDirs } from './support/temp.js';

/*
 * The dashboard in Debian's headless Chromium against a real hub: the demo's simulated greenhouse
 * nodes on the embedded broker, logins from a password file made with `edgehub passwd`, and the
 * dashboard built as `npm install` builds it. Each page is photographed into test-results/dashboard/
 * so a person can look at what the test saw.
 */

const SHOTS = fileURLToPath(new URL('../test-results/dashboard/', import.meta.url));
const PASSWORD = 'correct horse battery';
const USERS = { ann: 'admin', olga: 'operator', vic: 'viewer' } as const;
const RULE_FILE = 'dashboard.yaml';

/**
 * In force when the hub starts: an alert for each node that reports (to acknowledge later), and a
 * second rule, switched off, that the edit switches on.
 */
const RULES_IN_FORCE = `rules:
  - id: seen-alert
    when:
      mqtt: sensors/+device/temperature
    then:
      - alert: { key: "seen/{{ device }}", severity: minor, message: "{{ device }} is reporting" }
  - id: reading-log
    enabled: false
    when:
      mqtt: sensors/+device/temperature
    then:
      - log: "{{ device }} read {{ payload.value }}"
`;

/** The line of `enabled: false`, which the edit first breaks (`ture`), then sets to `true`. */
const EDIT_LINE = 8;

const temp = new TempDirs();
let hub: ChildProcessWithoutNullStreams | undefined;
let browser: Browser | undefined;
let base = '';
const contexts: BrowserContext[] = [];
/** Console errors about the CSP and uncaught page errors, from every page of the run. */
const violations: string[] = [];

async function passwd(file: string, user: string, create: boolean): Promise<void> {
  const child = spawnCli(['passwd', file, user, ...(create ? ['-c'] : [])]);
  const done = collect(child);
  child.stdin.end(`${PASSWORD}\n`);
  const result = await done;
  if (result.code !== 0) throw new Error(`edgehub passwd failed: ${result.stderr}`);
}

beforeAll(async () => {
  const dir = temp.make('edgehub-dashboard-');
  const dashboard = join(dir, 'dashboard');
  const rules = join(dir, 'rules');
  mkdirSync(rules);
  buildDashboard(dashboard);
  writeFileSync(join(rules, RULE_FILE), RULES_IN_FORCE);
  const passwords = join(dir, 'http.passwd');
  let first = true;
  for (const user of Object.keys(USERS)) {
    await passwd(passwords, user, first);
    first = false;
  }
  const config = join(dir, 'edgehub.yaml');
  writeFileSync(
    config,
    [
      'demo: true',
      'hub:',
      `  data_dir: ${JSON.stringify(join(dir, 'data'))}`,
      `  rules_dir: ${JSON.stringify(rules)}`,
      'http:',
      '  host: 127.0.0.1',
      '  port: 0',
      `  password_file: ${JSON.stringify(passwords)}`,
      `  dashboard_dir: ${JSON.stringify(dashboard)}`,
      '  users:',
      ...Object.entries(USERS).map(([user, role]) => `    ${user}: ${role}`),
      '',
    ].join('\n'),
  );
  hub = spawnCli(['start', '--config', config, '--mqtt-port', '0', '--ws-port', '0', '--http-port', '0']);
  const line = await waitForLog(hub, /HTTP API listening/);
  const port = /:(\d+)\b(?!.*:\d)/.exec(line)?.[1];
  base = `http://127.0.0.1:${port}`;
  await waitForLog(hub, /simulated devices started/);
  browser = await launchChromium();
  mkdirSync(SHOTS, { recursive: true });
}, 120_000);

afterAll(async () => {
  for (const c of contexts.splice(0)) await c.close();
  await browser?.close();
  if (hub) await signalAndWait(hub, 'SIGKILL');
  temp.cleanup();
});

/** A fresh browser profile (cookies of its own) for one user, narrow as a phone when asked. */
async function session(width = 1100): Promise<Page> {
  if (!browser) throw new Error('Chromium did not start');
  const context = await browser.newContext({ viewport: { width, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  // Chromium's console line names no culprit; the page's own event says what was blocked and from where.
  await page.addInitScript({
    content: `document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation:',
      e.violatedDirective, JSON.stringify(e.sample), e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber))`,
  });
  page.on('console', (m) => {
    if (m.type() === 'error' && m.text().startsWith('CSP violation:'))
      violations.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => violations.push(`uncaught: ${e.message}`));
  return page;
}

async function logIn(page: Page, user: keyof typeof USERS, shot?: string): Promise<void> {
  await page.goto(`${base}/`);
  await page.waitForURL(`${base}/login`);
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  await page.getByLabel('User').fill(user);
  await page.getByLabel('Password').fill(PASSWORD);
  if (shot) await page.screenshot({ path: join(SHOTS, shot) });
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { name: /Devices/ }).waitFor();
}

const shoot = (page: Page, name: string): Promise<Buffer> =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

describe('the dashboard in Chromium against a running hub', () => {
  let admin: Page;

  it('logs in from the login page every other page sends a stranger to', async () => {
    admin = await session();
    await logIn(admin, 'ann', 'login.png');
  }, 60_000);

  it('shows a simulated device as it appears, and its reading changing live', async () => {
    const value = admin.locator('[data-device="gh-1"] [data-metric="temperature"] .metric-value');
    await value.filter({ hasText: /\d/ }).waitFor();
    const before = await value.textContent();
    await value.filter({ hasNotText: before ?? '' }).waitFor({ timeout: 20_000 });
    await admin.locator('[data-device="gh-1"] .sparkline').waitFor();
    await shoot(admin, 'devices');
  }, 60_000);

  it('sends a command and shows the actuator change', async () => {
    const card = admin.locator('[data-device="gh-1"]');
    const state = card.locator('[data-actuator="fan"] .actuator-state');
    const wasOn = (await state.textContent()) === 'on';
    await card.getByRole('button', { name: wasOn ? 'Off' : 'On' }).click();
    await state.filter({ hasText: wasOn ? /^off$/ : /^on$/ }).waitFor({ timeout: 20_000 });
  }, 60_000);

  it('opens the device page with a chart of the metric and its raw events', async () => {
    await admin.locator('[data-device="gh-1"] a.device-name').click();
    await admin.locator('[data-metric="temperature"] .chart canvas').waitFor();
    await admin.locator('table.events tbody tr').first().waitFor();
    await admin.getByRole('button', { name: '1h' }).click();
    // The chart of the hour asked for, not the 24 h one it replaces; its axis spans that hour.
    await admin.locator('[data-metric="temperature"] .chart[data-span-ms="3600000"] canvas').waitFor();
    await shoot(admin, 'device');
  }, 60_000);

  it('edits a rule: the wrong value is marked at its line, the fix previewed with counts, saved, and it fires', async () => {
    await admin.goto(`${base}/rules/edit/${RULE_FILE}`);
    const content = admin.locator('.cm-content');
    await content.waitFor();
    // Typed as a person would: a double click selects the word, typing replaces it. (Chromium's
    // own insertText of several lines adds style attributes the CSP blocks; CodeMirror does not.)
    const line = admin.locator('.cm-line').nth(EDIT_LINE - 1);
    await line.getByText('false').dblclick();
    await admin.keyboard.type('ture');

    const problem = admin.locator(`.problems li[data-line="${EDIT_LINE}"]`);
    await problem.waitFor({ timeout: 15_000 });
    // Where, as the hub's loader says it: file:line:col and the key path.
    expect(await problem.textContent()).toMatch(new RegExp(`${RULE_FILE}:${EDIT_LINE}:\\d+ rules\\[1\\]`));
    // The gutter mark sits on that line.
    const marker = admin.locator('.cm-lint-marker-error').first();
    const markerBox = await marker.boundingBox();
    const lineBox = await admin
      .locator('.cm-line')
      .nth(EDIT_LINE - 1)
      .boundingBox();
    expect(
      markerBox && lineBox && Math.abs(markerBox.y + markerBox.height / 2 - (lineBox.y + lineBox.height / 2)),
    ).toBeLessThan(lineBox?.height ?? 0);
    await shoot(admin, 'editor-problem');

    await line.getByText('ture').dblclick();
    await admin.keyboard.type('true');
    await admin.locator('.problems-state', { hasText: 'No problems' }).waitFor({ timeout: 15_000 });

    await admin.getByRole('button', { name: 'Preview' }).click();
    const summary = admin.locator('.preview-summary');
    await summary.waitFor({ timeout: 30_000 });
    const counts = /fired (\d+) times? \(the rules in force: (\d+)\)/.exec(
      (await summary.textContent()) ?? '',
    );
    const edited = Number(counts?.[1]);
    const inForce = Number(counts?.[2]);
    // Both rules fire on every stored reading; in force, reading-log is switched off.
    expect(inForce).toBeGreaterThan(0);
    expect(edited).toBeGreaterThan(inForce);
    await admin.locator('.preview .diff .changed', { hasText: 'reading-log' }).waitFor();
    await admin.locator('table.firings tbody tr').first().waitFor();
    await shoot(admin, 'editor-preview');

    await admin.getByRole('button', { name: 'Save' }).click();
    await admin.locator('.ok-box', { hasText: 'Saved' }).waitFor({ timeout: 15_000 });
    await admin.locator('.versions li').first().waitFor();

    await admin.getByRole('link', { name: 'Rules' }).click();
    const fired = admin.locator('[data-rule="reading-log"] .fired');
    await fired.filter({ hasNotText: /^0$/ }).waitFor({ timeout: 20_000 });
    await admin
      .locator('[data-rule="seen-alert"]')
      .getByRole('button', { name: /last runs/ })
      .click();
    await admin.locator('[data-rule="seen-alert"] .trace li').first().waitFor();
    await shoot(admin, 'rules');
  }, 90_000);

  it('shows events live and acknowledges an alert', async () => {
    await admin.getByRole('link', { name: 'Events' }).click();
    await admin.locator('table.events tbody tr').first().waitFor();
    // A filter opens a stream of the page's own, filtered by the hub, once the hub accepted it.
    const filtered = admin.waitForRequest((r) =>
      r.url().includes('/api/stream?types=event&topic=sensors%2F%2B%2Ftemperature'),
    );
    await admin.getByLabel('topic filter').fill('sensors/+/temperature');
    await filtered;
    const rows = admin.locator('table.events tbody tr');
    await rows.filter({ hasText: 'sensors/gh-' }).first().waitFor();
    // New readings arrive on it, and nothing but the filter's topics is shown.
    const newest = await rows.first().textContent();
    await rows
      .first()
      .filter({ hasNotText: newest ?? '' })
      .waitFor({ timeout: 20_000 });
    const shown = await rows.allTextContents();
    expect(shown.length).toBeGreaterThan(0);
    expect(shown.filter((row) => !/sensors\/[^/\s]+\/temperature/.test(row))).toEqual([]);
    await shoot(admin, 'events');

    // A filter the hub refuses is said, and no stream is opened (or retried) for it.
    const streamed: string[] = [];
    admin.on('request', (r) => r.url().includes('/api/stream?') && streamed.push(r.url()));
    await admin.getByLabel('topic filter').fill('sensors/#/temperature');
    await admin.getByRole('alert').filter({ hasText: 'topic' }).waitFor();
    await admin.getByLabel('topic filter').fill('');
    await rows.first().waitFor();
    expect(streamed.filter((url) => url.includes('topic='))).toEqual([]);

    await admin.getByRole('link', { name: 'Alerts' }).click();
    const alert = admin.locator('[data-alert="seen/gh-1"]');
    await alert.getByRole('button', { name: 'Acknowledge' }).click();
    await alert.locator('.acknowledged').waitFor();
    await shoot(admin, 'alerts');
  }, 60_000);

  it('a viewer sees everything but can send no command, acknowledge nothing and edit no rule', async () => {
    const viewer = await session(360);
    await logIn(viewer, 'vic');
    const card = viewer.locator('[data-device="gh-1"]');
    await card.locator('[data-actuator="fan"]').waitFor();
    expect(await card.getByRole('button', { name: 'On' }).count()).toBe(0);
    await shoot(viewer, 'devices-viewer-360px');
    const refused = await viewer.request.post(`${base}/api/devices/gh-1/commands`, {
      data: { set: { fan: true } },
      headers: { origin: base },
    });
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('AUTH_FORBIDDEN');

    await viewer.goto(`${base}/alerts`);
    await viewer.locator('[data-alert="seen/gh-2"]').waitFor();
    expect(await viewer.getByRole('button', { name: 'Acknowledge' }).count()).toBe(0);

    await viewer.goto(`${base}/rules/edit/${RULE_FILE}`);
    await viewer.locator('.cm-content').waitFor();
    await viewer.getByText('Read only').waitFor();
    expect(await viewer.getByRole('button', { name: 'Save' }).count()).toBe(0);
  }, 60_000);

  it('an operator may command and acknowledge, but not save a rule file', async () => {
    const operator = await session();
    await logIn(operator, 'olga');
    await operator
      .locator('[data-device="gh-1"]')
      .getByRole('button', { name: /^(On|Off)$/ })
      .first()
      .waitFor();
    await operator.goto(`${base}/alerts`);
    await operator.locator('[data-alert="seen/gh-2"]').getByRole('button', { name: 'Acknowledge' }).waitFor();
    await operator.goto(`${base}/rules/edit/${RULE_FILE}`);
    await operator.getByText('Read only').waitFor();
    expect(await operator.getByRole('button', { name: 'Save' }).count()).toBe(0);
    const refused = await operator.request.put(`${base}/api/rule-files/${RULE_FILE}`, {
      data: { text: RULES_IN_FORCE },
      headers: { origin: base },
    });
    expect(refused.status()).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('AUTH_FORBIDDEN');
  }, 60_000);

  // Last, since a failed login makes the hub throttle this address for a second.
  it('refuses a wrong password with the hub’s message, and a quick retry is throttled', async () => {
    const stranger = await session(360);
    await stranger.goto(`${base}/alerts`);
    await stranger.getByLabel('User').fill('ann');
    await stranger.getByLabel('Password').fill('wrong');
    await stranger.getByRole('button', { name: 'Log in' }).click();
    // The hub's own messages (wording is the API's to choose): one for the refusal, another for the throttle.
    const error = stranger.locator('.login-form .error-box');
    await error.waitFor();
    const refused = (await error.textContent()) ?? '';
    expect(refused.length).toBeGreaterThan(0);
    await stranger.getByRole('button', { name: 'Log in' }).click();
    await error.filter({ hasNotText: refused }).waitFor();
    expect(new URL(stranger.url()).pathname).toBe('/login');
    await shoot(stranger, 'login-refused-360px');
  }, 60_000);

  it('broke no Content-Security-Policy rule and threw nothing on any page', () => {
    expect(violations).toEqual([]);
  });
});
