import { afterEach, describe, expect, it } from 'vitest';
import { FakeMachine } from './fake-doctor-env.js';
import { nativeModuleChecks, nodeVersionCheck } from './runtime-checks.js';

let machine: FakeMachine | undefined;
afterEach(() => machine?.cleanup());

describe('runtime checks', () => {
  it('needs Node.js 20.19 or later', () => {
    expect(nodeVersionCheck({ nodeVersion: '18.19.0' }).status).toBe('FAIL');
    expect(nodeVersionCheck({ nodeVersion: '20.18.3' }).status).toBe('FAIL');
    expect(nodeVersionCheck({ nodeVersion: '20.19.0' }).status).toBe('OK');
    expect(nodeVersionCheck({ nodeVersion: '22.1.0' }).status).toBe('OK');
  });

  it('fails an addon that does not load and warns when serial ports cannot be listed', async () => {
    machine = new FakeMachine();
    const broken = machine.env({
      openMemorySqlite: () => Promise.reject(new Error('was compiled against a different Node.js version')),
      listSerialPorts: () => Promise.resolve({ loaded: false, error: 'No native build was found' }),
    });
    expect((await nativeModuleChecks(broken)).map((r) => r.status)).toEqual(['FAIL', 'FAIL']);
    const noUdev = machine.env({
      listSerialPorts: () => Promise.resolve({ loaded: true, error: 'spawn udevadm ENOENT' }),
    });
    expect((await nativeModuleChecks(noUdev)).map((r) => r.status)).toEqual(['OK', 'WARN']);
  });

  it('loads the real addons on this machine', async () => {
    const { systemEnv } = await import('./doctor-env.js');
    const results = await nativeModuleChecks(systemEnv());
    expect(results.map((r) => `${r.check} ${r.status === 'FAIL' ? 'FAIL' : 'loads'}`)).toEqual([
      'native.better-sqlite3 loads',
      'native.serialport loads',
    ]);
  });
});
