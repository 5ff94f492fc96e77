import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { certWithDates, requireOpenssl, selfSignedCert } from '../../test/support/certs.js';
import { configSchema } from '../config/schema.js';
import { FAKE_NOW, FakeMachine } from './fake-doctor-env.js';
import { secretFileCheck, secretFileChecks, tlsChecks } from './security-checks.js';
import type { ServiceUser } from './service-user.js';

let machine: FakeMachine | undefined;
afterEach(() => machine?.cleanup());
beforeAll(() => requireOpenssl());

const me: ServiceUser = {
  name: 'me',
  uid: process.getuid?.() ?? 0,
  gid: process.getgid?.() ?? 0,
  gids: process.getgroups?.() ?? [],
  notInSession: [],
  service: false,
};
const verdicts = (results: { check: string; status: string }[]) =>
  results.map((r) => `${r.check} ${r.status}`);
const DAY_MS = 86_400_000;

function tlsConfig(files: { cert?: string; key?: string; ca?: string }) {
  return configSchema.parse({ mqtt: { tls: { port: 8883, cert: 'x', key: 'x', ...files } } });
}

describe('TLS checks', () => {
  it('passes a readable certificate far from expiry with its own owner-only key', () => {
    machine = new FakeMachine();
    const dir = join(machine.root, 'tls');
    mkdirSync(dir);
    const { cert, key } = certWithDates(dir, 'hub', '20260101000000Z', '20270101000000Z');
    chmodSync(key, 0o600);
    const results = tlsChecks(machine.env(), tlsConfig({ cert, key }), me);
    expect(verdicts(results)).toEqual(['tls.cert OK', 'tls.key OK']);
  });

  it('warns under 30 days to expiry and fails an expired or not yet valid certificate', () => {
    machine = new FakeMachine();
    const { cert, key } = selfSignedCert(machine.root, 'hub'); // two days, from now
    chmodSync(key, 0o600);
    const at = (nowMs: number) =>
      tlsChecks(machine!.env({ now: () => nowMs }), tlsConfig({ cert, key }), me)[0]?.status;
    expect(at(Date.now())).toBe('WARN');
    expect(at(Date.now() + 3 * DAY_MS)).toBe('FAIL');
    expect(at(Date.now() - DAY_MS)).toBe('FAIL');
  });

  it('fails a missing certificate, a file that is no certificate and a key of another certificate', () => {
    machine = new FakeMachine();
    const a = selfSignedCert(machine.root, 'a');
    const b = selfSignedCert(machine.root, 'b');
    const junk = machine.file('/junk.pem', 'not pem\n');
    const env = machine.env();
    expect(
      verdicts(tlsChecks(env, tlsConfig({ cert: join(machine.root, 'none.crt'), key: a.key }), me))[0],
    ).toBe('tls.cert FAIL');
    expect(verdicts(tlsChecks(env, tlsConfig({ cert: junk, key: a.key }), me))[0]).toBe('tls.cert FAIL');
    expect(verdicts(tlsChecks(env, tlsConfig({ cert: a.cert, key: b.key }), me))[1]).toBe('tls.key FAIL');
  });

  it('has one OK line when no TLS listener is configured', () => {
    machine = new FakeMachine();
    expect(verdicts(tlsChecks(machine.env(), configSchema.parse({}), me))).toEqual(['tls OK']);
  });

  it('checks the CA bundle too', () => {
    machine = new FakeMachine();
    const { cert, key } = certWithDates(machine.root, 'hub', '20260101000000Z', '20270101000000Z');
    const ca = certWithDates(machine.root, 'ca', '20200101000000Z', '20200201000000Z').cert;
    chmodSync(key, 0o600);
    const results = tlsChecks(machine.env({ now: () => FAKE_NOW }), tlsConfig({ cert, key, ca }), me);
    expect(verdicts(results)).toEqual(['tls.cert OK', 'tls.key OK', 'tls.ca FAIL']);
  });
});

describe('secret files', () => {
  it('warns when group or others may read it, passes owner-only and the own group', () => {
    machine = new FakeMachine();
    const file = machine.file('/passwords', 'user:$7$...\n');
    chmodSync(file, 0o644);
    expect(secretFileCheck('s', file, me).status).toBe('WARN');
    chmodSync(file, 0o640);
    expect(secretFileCheck('s', file, { ...me, gid: -5 }).status).toBe('WARN');
    expect(secretFileCheck('s', file, me).status).toBe('OK'); // the file's group is my own group
    chmodSync(file, 0o600);
    expect(secretFileCheck('s', file, me).status).toBe('OK');
  });

  it('fails a missing file, and checks the password file, the ACL file and connector password files', () => {
    machine = new FakeMachine();
    const acl = machine.file('/acl', 'topic read #\n');
    chmodSync(acl, 0o600);
    writeFileSync(join(machine.root, 'kafka-pass'), 'secret\n', { mode: 0o600 });
    const config = configSchema.parse({
      mqtt: { security: { password_file: join(machine.root, 'none'), acl_file: acl } },
      connectors: [
        {
          id: 'k',
          type: 'kafka',
          brokers: ['k:9092'],
          username: 'u',
          password_file: join(machine.root, 'kafka-pass'),
        },
      ],
    });
    expect(verdicts(secretFileChecks(config, me))).toEqual([
      'security.password_file FAIL',
      'security.acl_file OK',
      'connector.k.password_file OK',
    ]);
  });
});
