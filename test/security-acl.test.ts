import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SystemClock } from '../kernel/index.js';
import { ClientPool, nextMessage } from './support/mqtt-client.js';
import {
  pubackCode,
  startSecureBroker,
  subackCodes,
  until,
  writePasswords,
  type SecureBroker,
} from './support/secure-broker.js';
import { TempDirs } from './support/temp.js';

const ACL = `user admin
topic readwrite #

user gh-1
topic write sensors/gh-1/#
topic read actuators/gh-1/#

pattern readwrite devices/%c/#
pattern read users/%u/inbox
`;

const temp = new TempDirs();
const pool = new ClientPool();
let hub: SecureBroker;
let aclFile: string;

beforeEach(async () => {
  const dir = temp.make();
  aclFile = join(dir, 'acl');
  writeFileSync(aclFile, ACL);
  const passwordFile = await writePasswords(dir, { admin: 'admin-pw', 'gh-1': 'gh-pw' });
  hub = await startSecureBroker({
    clock: new SystemClock(),
    security: { passwordFile, aclFile, authDelayMs: 0 },
  });
});

afterEach(async () => {
  await pool.closeAll();
  await hub.broker.stop();
  temp.cleanup();
});

const connect = (user: 'admin' | 'gh-1', v: 4 | 5 = 4, clientId?: string): Promise<MqttClient> =>
  pool.connect(hub.url, {
    protocolVersion: v,
    username: user,
    password: user === 'admin' ? 'admin-pw' : 'gh-pw',
    ...(clientId !== undefined && { clientId }),
  });

/** Subscribes an admin to everything and returns the topics it receives, in order. */
/** Every topic routed, as an admin subscribed to `#` receives them, and waits on them. */
async function watchAll(): Promise<{
  seen: string[];
  seenCount: (n: number, what: string) => Promise<void>;
}> {
  const admin = await connect('admin');
  const seen: string[] = [];
  admin.on('message', (topic) => seen.push(topic));
  await admin.subscribeAsync('#', { qos: 1 });
  return { seen, seenCount: (n, what) => until(() => seen.length === n, what, [[admin, 'message']]) };
}

describe('ACL on publish', () => {
  it('routes what a user may write', async () => {
    const { seen, seenCount } = await watchAll();
    const device = await connect('gh-1');
    await device.publishAsync('sensors/gh-1/temperature', '21', { qos: 1 });
    await seenCount(1, 'delivery');
    expect(seen).toEqual(['sensors/gh-1/temperature']);
  });

  it('drops a denied MQTT 3.1.1 publish after acknowledging it (as Mosquitto does), counts it, and keeps the client', async () => {
    const { seen, seenCount } = await watchAll();
    const device = await connect('gh-1', 4);
    expect(await pubackCode(device, 'sensors/gh-2/temperature', 'forged')).toBe(0);
    // QoS 2 completes its PUBREC/PUBREL/PUBCOMP handshake too, and is dropped as well.
    await device.publishAsync('sensors/gh-2/humidity', 'forged', { qos: 2 });
    await device.publishAsync('sensors/gh-1/temperature', 'real', { qos: 1 });
    await seenCount(1, 'the allowed message');
    expect(seen).toEqual(['sensors/gh-1/temperature']);
    expect(device.connected).toBe(true);
    expect(hub.broker.stats().publishDenied).toBe(2);
    const warn = hub.logger.entries.find((e) => e.fields?.refused === 'acl');
    expect(warn?.fields).toMatchObject({ user: 'gh-1', topic: 'sensors/gh-2/temperature' });
  });

  it('answers a denied MQTT 5 QoS 1 publish with PUBACK 0x87 and drops QoS 0 silently', async () => {
    const { seen, seenCount } = await watchAll();
    const device = await connect('gh-1', 5);
    expect(await pubackCode(device, 'sensors/gh-2/temperature', 'forged')).toBe(0x87);
    const qos2 = await device
      .publishAsync('sensors/gh-2/humidity', 'forged', { qos: 2 })
      .catch((e: unknown) => e);
    expect(qos2).toMatchObject({ code: 0x87 });
    await device.publishAsync('actuators/gh-1/fan', 'sneaky', { qos: 0 });
    await device.publishAsync('sensors/gh-1/temperature', 'real', { qos: 1 });
    await seenCount(1, 'the allowed message');
    expect(seen).toEqual(['sensors/gh-1/temperature']);
    expect(device.connected).toBe(true);
    expect(hub.broker.stats().publishDenied).toBe(3);
  });

  it('expands %c to the client id in patterns', async () => {
    const device = await connect('gh-1', 5, 'node-7');
    expect(await pubackCode(device, 'devices/node-7/state', 'ok')).toBe(0);
    expect(await pubackCode(device, 'devices/node-8/state', 'not mine')).toBe(0x87);
  });

  it('refuses a publish to $SYS from any client', async () => {
    const admin = await connect('admin', 5);
    expect(await pubackCode(admin, '$SYS/fake', 'x')).toBe(0x87);
  });
});

describe('ACL on subscribe', () => {
  it.each([
    [4, 0x80],
    [5, 0x87],
  ] as const)('refuses a denied filter with SUBACK failure code (MQTT %i: %i)', async (v, code) => {
    const device = await connect('gh-1', v);
    expect(await subackCodes(device, ['actuators/gh-1/fan', 'actuators/gh-2/fan'])).toEqual([1, code]);
    expect(hub.broker.stats().subscribeDenied).toBe(1);
  });

  it('expands %u to the username in patterns', async () => {
    const device = await connect('gh-1', 5);
    expect(await subackCodes(device, ['users/gh-1/inbox', 'users/admin/inbox'])).toEqual([1, 0x87]);
  });
});

describe('ACL on delivery', () => {
  it('withholds retained and live messages a client may not read, even under a granted wildcard', async () => {
    const admin = await connect('admin', 5);
    await admin.publishAsync('actuators/gh-2/fan', 'on', { qos: 1, retain: true });
    await admin.publishAsync('actuators/gh-1/fan', 'off', { qos: 1, retain: true });
    const device = await connect('gh-1', 5);
    const got: string[] = [];
    device.on('message', (topic) => got.push(topic));
    expect(await subackCodes(device, ['actuators/+/fan'])).toEqual([1]);
    await until(() => got.length === 1, 'the readable retained message', [[device, 'message']]);
    await admin.publishAsync('actuators/gh-2/fan', 'live', { qos: 1 });
    await admin.publishAsync('actuators/gh-1/fan', 'live', { qos: 1 });
    await until(() => got.length === 2, 'the readable live message', [[device, 'message']]);
    expect(got).toEqual(['actuators/gh-1/fan', 'actuators/gh-1/fan']);
    expect(hub.broker.stats().deliveryDenied).toBe(2);
  });
});

describe('ACL on shared subscriptions', () => {
  it('checks $share/<group>/<filter> as the filter itself, and each delivery as its topic', async () => {
    const device = await connect('gh-1', 5);
    expect(await subackCodes(device, ['$share/g/actuators/gh-1/#', '$share/g/actuators/gh-2/#'])).toEqual([
      1, 0x87,
    ]);
    const got: string[] = [];
    device.on('message', (topic) => got.push(topic));
    expect(await subackCodes(device, ['$share/all/actuators/+/fan'])).toEqual([1]);
    const admin = await connect('admin', 5);
    await admin.publishAsync('actuators/gh-2/fan', 'on', { qos: 1 });
    await admin.publishAsync('actuators/gh-1/fan', 'on', { qos: 1 });
    // Once through the first share (gh-1/#), once through the second; never gh-2's.
    await until(() => got.length === 2, 'the readable deliveries', [[device, 'message']]);
    expect(got).toEqual(['actuators/gh-1/fan', 'actuators/gh-1/fan']);
    expect(hub.broker.stats().deliveryDenied).toBe(1);
  });
});

describe('reloading the ACL', () => {
  it('applies a changed file after reload(), for clients already connected', async () => {
    const device = await connect('gh-1', 5);
    expect(await pubackCode(device, 'sensors/gh-2/temperature', 'x')).toBe(0x87);
    writeFileSync(aclFile, ACL + 'user gh-1\ntopic write sensors/gh-2/#\n');
    expect(await hub.security.reload()).toBe(true);
    expect(await pubackCode(device, 'sensors/gh-2/temperature', 'x')).toBe(0);
  });

  it('keeps the running rules when the new file is invalid, and says where it is wrong', async () => {
    const device = await connect('gh-1', 5);
    writeFileSync(aclFile, 'user gh-1\ntopic write #\ntopic writ sensors/#\n');
    expect(await hub.security.reload()).toBe(false);
    expect(await pubackCode(device, 'anything', 'x')).toBe(0x87);
    const error = hub.logger.entries.find((e) => e.msg.startsWith('security files not reloaded'));
    expect(String(error?.fields?.['error'])).toContain(`${aclFile}:3:1: unknown access "writ"`);
  });

  it('sees a message published under the old rules delivered by the new ones', async () => {
    const device = await connect('gh-1', 5);
    const admin = await connect('admin', 5);
    await device.subscribeAsync('actuators/gh-1/#', { qos: 1 });
    writeFileSync(aclFile, ACL.replace('topic read actuators/gh-1/#', 'topic read actuators/gh-1/fan'));
    await hub.security.reload();
    const light = nextMessage(device, 'actuators/gh-1/fan');
    await admin.publishAsync('actuators/gh-1/light', 'on', { qos: 1 });
    await admin.publishAsync('actuators/gh-1/fan', 'on', { qos: 1 });
    expect((await light).topic).toBe('actuators/gh-1/fan');
    expect(hub.broker.stats().deliveryDenied).toBe(1);
  });
});
