import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { DeliveryStore, Notifiers, notifiersSchema } from '../hub/index.js';
import { MemoryLogger, VirtualClock } from '../kernel/index.js';
import { requireOpenssl, selfSignedCert } from './support/certs.js';
import { Cleanups } from './support/cleanups.js';
import { TempDirs } from './support/temp.js';

const cleanups = new Cleanups();
const temp = new TempDirs();
afterEach(async () => {
  await cleanups.run();
  temp.cleanup();
  delete process.env.EDGEHUB_TEST_SMTP_PASSWORD;
});

interface Received {
  from: string;
  to: string[];
  user: string | undefined;
  secure: boolean;
  raw: string;
}

/** A local SMTP server on port 0 (the smtp-server package) that checks AUTH and keeps each mail. */
async function smtpStandIn(options: Partial<SMTPServerOptions> = {}) {
  const mails: Received[] = [];
  const logins: string[] = [];
  const server = new SMTPServer({
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push(`${auth.username}:${auth.password}`);
      if (auth.username === 'hub' && auth.password === 's3cret-pw') callback(null, { user: 'hub' });
      else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          user: session.user as string | undefined,
          secure: session.secure,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
    ...options,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.server.address() as AddressInfo).port, mails, logins };
}

function notifiersFor(config: Record<string, unknown>) {
  const store = new DeliveryStore(new Database(':memory:'));
  const logger = new MemoryLogger();
  const notifiers = new Notifiers({
    configs: notifiersSchema.parse({ mail: { type: 'email', ...config } }),
    clock: new VirtualClock(1_700_000_000_000),
    logger,
    publisher: { publish: () => Promise.resolve() },
    store,
    timezone: 'UTC',
    hubName: 'shed',
  });
  notifiers.start();
  cleanups.add(() => {
    notifiers.stop();
    store.close();
  });
  return { notifiers, store, logger };
}

const NOTE = {
  title: 'MAJOR: too-hot/gh-1',
  message: 'gh-1 is at 35.2 °C',
  priority: 'high',
  source: 'alert:too-hot/gh-1',
  tags: ['major', 'raised'],
} as const;

describe('the e-mail notifier against a local SMTP server', () => {
  it('logs in with the password from password_env and delivers the mail to every recipient', async () => {
    const smtp = await smtpStandIn({ allowInsecureAuth: true, disabledCommands: ['STARTTLS'] });
    process.env.EDGEHUB_TEST_SMTP_PASSWORD = 's3cret-pw';
    const { notifiers, store, logger } = notifiersFor({
      host: '127.0.0.1',
      port: smtp.port,
      security: 'none',
      username: 'hub',
      password_env: 'EDGEHUB_TEST_SMTP_PASSWORD',
      from: 'edgehub@shed.example',
      to: ['me@example.org', 'you@example.org'],
    });
    await notifiers.notify('mail', NOTE);
    await notifiers.whenIdle();
    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails;
    expect(mail).toMatchObject({
      from: 'edgehub@shed.example',
      to: ['me@example.org', 'you@example.org'],
      user: 'hub',
    });
    expect(mail?.raw).toContain('Subject: MAJOR: too-hot/gh-1');
    expect(mail?.raw).toMatch(/X-Priority: 1/i);
    expect(mail?.raw).toContain('gh-1 is at 35.2');
    expect(store.recent()[0]).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(JSON.stringify(logger.entries)).not.toContain('s3cret-pw');
  });

  it('a refused login is final: failed after one attempt, the password in no outcome', async () => {
    const smtp = await smtpStandIn({ allowInsecureAuth: true, disabledCommands: ['STARTTLS'] });
    process.env.EDGEHUB_TEST_SMTP_PASSWORD = 'wrong-pw';
    const { notifiers, store } = notifiersFor({
      host: '127.0.0.1',
      port: smtp.port,
      security: 'none',
      username: 'hub',
      password_env: 'EDGEHUB_TEST_SMTP_PASSWORD',
      from: 'edgehub@shed.example',
      to: ['me@example.org'],
    });
    await notifiers.notify('mail', NOTE);
    await notifiers.whenIdle();
    expect(smtp.logins).toEqual(['hub:wrong-pw']);
    expect(smtp.mails).toEqual([]);
    const [record] = store.recent();
    expect(record).toMatchObject({ state: 'failed', attempts: 1 });
    expect(record?.error).toContain('email mail:');
    expect(JSON.stringify(record)).not.toContain('wrong-pw');
  });

  it('STARTTLS against a server with its own certificate, trusted through ca:', async () => {
    requireOpenssl();
    const dir = temp.make();
    const cert = selfSignedCert(dir, 'smtp');
    const smtp = await smtpStandIn({ key: readFileSync(cert.key), cert: readFileSync(cert.cert) });
    const fileDir = temp.make();
    const passwordFile = `${fileDir}/smtp-password`;
    writeFileSync(passwordFile, 's3cret-pw\n');
    const { notifiers, store } = notifiersFor({
      host: 'localhost',
      port: smtp.port,
      security: 'starttls',
      ca: cert.cert,
      username: 'hub',
      password_file: passwordFile,
      from: 'edgehub@shed.example',
      to: ['me@example.org'],
    });
    await notifiers.notify('mail', NOTE);
    await notifiers.whenIdle();
    expect(store.recent()[0]).toMatchObject({ state: 'delivered' });
    expect(smtp.mails[0]).toMatchObject({ secure: true, user: 'hub' });
  });
});
