import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runNotificationTrace } from '../hub/cli/notifications-trace.js';
import { configSchema, Hub } from '../hub/index.js';
import { MemoryLogger, type EdgehubErrors } from '../kernel/index.js';
import { useHubKit } from './support/hub-kit.js';
import { writeFiles } from './support/temp.js';
import { until } from './support/until.js';

const { temp, keep } = useHubKit();

/** A webhook receiver on port 0 that keeps each request. */
async function receiver() {
  const seen: { url: string; headers: IncomingMessage['headers']; body: string }[] = [];
  const events = new EventEmitter();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers, body });
      res.writeHead(204).end();
      events.emit('request');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    seen,
    count: (n: number) => until(() => seen.length >= n, `${n} webhook requests`, [[events, 'request']]),
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function hubConfig(dataDir: string, rulesDir: string, url: string) {
  return configSchema.parse({
    hub: { data_dir: dataDir, rules_dir: rulesDir },
    mqtt: { port: 0, ws_port: null, persistence: 'memory' },
    store: { enabled: false },
    http: { port: 0 },
    notifiers: { ops: { type: 'webhook', url } },
    alerts: { notify: [{ severities: ['major'], via: ['ops'] }] },
  });
}

describe('notifications in a running hub', () => {
  it('a rule notify: and a routed alert reach the webhook; the API and edgehub trace --notifications show the outcomes', async () => {
    const hook = await receiver();
    const dir = temp.make();
    const rules = join(dir, 'rules');
    mkdirSync(rules);
    writeFiles(rules, {
      'door.yaml': `rules:
  - id: door
    when: { event: door.opened }
    then:
      - notify: { via: ops, title: "Door", message: "opened by {{ payload.by }}" }
      - alert: { key: door/open, severity: major, message: door is open }
`,
    });
    const hub = keep(
      new Hub({ config: hubConfig(join(dir, 'data'), rules, hook.url), logger: new MemoryLogger() }),
    );
    try {
      await hub.start();
      const base = `http://127.0.0.1:${hub.http?.address?.port ?? 0}`;
      const posted = await fetch(`${base}/api/events/door.opened`, {
        method: 'POST',
        body: '{"by":"cat"}',
        headers: { 'content-type': 'application/json' },
      });
      expect(posted.status).toBe(202);
      await hook.count(2);
      await hub.notifiers?.notifiers.whenIdle();
      const bodies = hook.seen.map((r) => JSON.parse(r.body) as { title: string; source: string });
      expect(bodies.map((b) => [b.title, b.source])).toEqual([
        ['Door', 'rule:door'],
        ['MAJOR: door/open', 'alert:door/open'],
      ]);

      const listed = (await (await fetch(`${base}/api/notifications`)).json()) as {
        notifiers: { name: string; delivered: number }[];
        deliveries: { notifier: string; source: string; state: string; attempts: number }[];
      };
      expect(listed.notifiers).toEqual([expect.objectContaining({ name: 'ops', delivered: 2 })]);
      expect(listed.deliveries.map((d) => [d.source, d.state, d.attempts])).toEqual([
        ['alert:door/open', 'delivered', 1],
        ['rule:door', 'delivered', 1],
      ]);
      const mine = (await (await fetch(`${base}/api/notifications?source=rule:door`)).json()) as {
        deliveries: unknown[];
      };
      expect(mine.deliveries).toHaveLength(1);
      expect((await fetch(`${base}/api/notifications?limit=0`)).status).toBe(400);

      const ack = await fetch(`${base}/api/alerts/${encodeURIComponent('door/open')}/acknowledge`, {
        method: 'POST',
      });
      expect(ack.status).toBe(200);
      const acked = (await ack.json()) as { alert: { acknowledgedAt: number | null } };
      expect(acked.alert.acknowledgedAt).not.toBeNull();
      expect((await fetch(`${base}/api/alerts/nope/acknowledge`, { method: 'POST' })).status).toBe(404);

      const lines: string[] = [];
      const status = runNotificationTrace(
        { dataDir: join(dir, 'data'), ruleId: 'door', limit: 10, json: false },
        (l) => lines.push(l),
      );
      expect(status).toBe(0);
      expect(lines).toEqual([
        expect.stringMatching(/^#\d+ \S+ ops delivered \(1 attempt\) default "Door" from rule:door$/),
      ]);
    } finally {
      await hub.stop();
      await hook.stop();
    }
  });

  it('a rule whose via: names no configured notifier stops the hub from starting, at file:line:col', async () => {
    const dir = temp.make();
    const rules = join(dir, 'rules');
    mkdirSync(rules);
    writeFiles(rules, {
      'r.yaml': `rules:
  - id: r
    when: { event: x }
    then: [{ notify: { via: pager, message: hi } }]
`,
    });
    const hub = keep(
      new Hub({
        config: hubConfig(join(dir, 'data'), rules, 'http://127.0.0.1:9/hook'),
        logger: new MemoryLogger(),
      }),
    );
    const err = (await hub.start().catch((e: unknown) => e)) as EdgehubErrors;
    expect(err.errors.map((e) => [e.code, e.location?.line, e.location?.col, e.location?.path])).toEqual([
      ['NOTIFIER_UNKNOWN', 4, 29, 'rules[0].then[0].notify.via'],
    ]);
  });
});
