import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../kernel/index.js';
import { requireOpenssl, selfSignedCert, type CertFiles } from './support/certs.js';
import { ClientPool, nextMessage } from './support/mqtt-client.js';
import { connackCode, startSecureBroker, type SecureBroker } from './support/secure-broker.js';
import { TempDirs } from './support/temp.js';

const temp = new TempDirs();
const pool = new ClientPool();
const brokers: SecureBroker[] = [];

afterEach(async () => {
  await pool.closeAll();
  await Promise.all(brokers.splice(0).map((b) => b.broker.stop()));
  temp.cleanup();
});

interface TlsHub extends SecureBroker {
  server: CertFiles;
  tlsUrl: string;
  wssUrl: string;
}

/** A broker with TLS and WSS listeners whose certificate files live at fixed paths (for reloads). */
async function startTls(extra: { caFile?: string; requireClientCert?: boolean } = {}): Promise<TlsHub> {
  const dir = temp.make();
  const server = selfSignedCert(dir, 'server');
  const b = await startSecureBroker({
    clock: new SystemClock(),
    tls: {
      port: 0,
      wsPort: 0,
      certFile: server.cert,
      keyFile: server.key,
      requireClientCert: false,
      ...extra,
    },
  });
  brokers.push(b);
  return {
    ...b,
    server,
    tlsUrl: `mqtts://127.0.0.1:${b.broker.tlsAddress?.port}`,
    wssUrl: `wss://127.0.0.1:${b.broker.wssAddress?.port}`,
  };
}

/** The SHA-256 fingerprint of the certificate a TLS listener presents now. */
function presentedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

function fingerprintOf(certFile: string): string {
  return new X509Certificate(readFileSync(certFile)).fingerprint256;
}

requireOpenssl();

describe('TLS listeners', () => {
  it('carries MQTT over TLS and over secure WebSocket, verified against the certificate', async () => {
    const hub = await startTls();
    const ca = readFileSync(hub.server.cert);
    const tls = await pool.connect(hub.tlsUrl, { ca, rejectUnauthorized: true, protocolVersion: 5 });
    const wss = await pool.connect(hub.wssUrl, { ca, rejectUnauthorized: true, protocolVersion: 4 });
    await tls.subscribeAsync('hello/#');
    const got = nextMessage(tls, 'hello/wss');
    await wss.publishAsync('hello/wss', 'hi', { qos: 1 });
    expect((await got).payload.toString()).toBe('hi');
  });

  it('refuses a client that does not trust the certificate', async () => {
    const hub = await startTls();
    await expect(connackCode(hub.tlsUrl, { rejectUnauthorized: true })).rejects.toThrow(/self.signed/i);
  });

  it('swaps in a new certificate on reload, and keeps the running one when the new files are bad', async () => {
    const hub = await startTls();
    const port = hub.broker.tlsAddress?.port ?? 0;
    expect(await presentedFingerprint(port)).toBe(fingerprintOf(hub.server.cert));

    const next = selfSignedCert(temp.make(), 'next');
    copyFileSync(next.cert, hub.server.cert);
    copyFileSync(next.key, hub.server.key);
    expect(await hub.broker.reloadTls()).toBe(true);
    expect(await presentedFingerprint(port)).toBe(fingerprintOf(next.cert));

    writeFileSync(hub.server.key, '-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n');
    expect(await hub.broker.reloadTls()).toBe(false);
    expect(await presentedFingerprint(port)).toBe(fingerprintOf(next.cert));
    const error = hub.logger.entries.find((e) => e.msg.startsWith('TLS certificate not reloaded'));
    expect(error?.level).toBe('error');
    const wss = await pool.connect(hub.wssUrl, { ca: readFileSync(next.cert), rejectUnauthorized: true });
    expect(wss.connected).toBe(true);
  });

  it('requires a client certificate signed by the configured CA when asked to', async () => {
    const device = selfSignedCert(temp.make(), 'device', 'gh-1');
    const hub = await startTls({ caFile: device.cert, requireClientCert: true });
    const ca = readFileSync(hub.server.cert);
    await expect(connackCode(hub.tlsUrl, { ca, rejectUnauthorized: true })).rejects.toThrow();
    const ok = await pool.connect(hub.tlsUrl, {
      ca,
      rejectUnauthorized: true,
      cert: readFileSync(device.cert),
      key: readFileSync(device.key),
    });
    expect(ok.connected).toBe(true);
  });

  it('refuses to start with an unusable certificate, naming the file', async () => {
    const dir = temp.make();
    const server = selfSignedCert(dir, 'server');
    const other = selfSignedCert(dir, 'other');
    const err: unknown = await startSecureBroker({
      clock: new SystemClock(),
      tls: { port: 0, wsPort: null, certFile: server.cert, keyFile: other.key, requireClientCert: false },
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TLS_INVALID' });
    expect((err as Error).message).toContain(server.cert);
  });
});
