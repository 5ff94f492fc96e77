import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deviceDefinitionSchema, FirmataAdapter, SerialAdapter } from '../devices/index.js';
import { adapterBench } from './support/adapter-bench.js';
import { runSimBoardCommand } from '../firmware-sim/index.js';
import { EdgehubError, MemoryLogger, SystemClock } from '../kernel/index.js';
import { requireSocat } from './support/socat.js';
import { Cleanups } from './support/cleanups.js';
import { TempDirs } from './support/temp.js';

const temp = new TempDirs();
const cleanups = new Cleanups();
afterEach(async () => {
  await cleanups.run();
  temp.cleanup();
});

requireSocat();

describe('edgehub sim-board', () => {
  it('serves a Firmata Uno and a JSON-lines device on paths the adapters open like USB boards', async () => {
    const dir = temp.make('edgehub-sim-board-');
    const paths = { firmata: join(dir, 'uno'), serial: join(dir, 'ttyUSB0') };
    const boards = await runSimBoardCommand({ ...paths, intervalMs: 50 }, new MemoryLogger());
    cleanups.add(() => boards.stop());
    const { sink, deps } = adapterBench(new SystemClock());
    const uno = deviceDefinitionSchema.parse({
      id: 'uno',
      adapter: 'firmata',
      firmata: {
        path: paths.firmata,
        sample_every: '50ms',
        pins: [{ pin: 'A0', type: 'thermometer', model: 'LM35', metric: 'temperature' }],
      },
    });
    const bench = deviceDefinitionSchema.parse({
      id: 'bench',
      adapter: 'serial',
      serial: { path: paths.serial },
    });
    const firmata = new FirmataAdapter(deps([uno]));
    const serial = new SerialAdapter(deps([bench]));
    cleanups.add(
      () => firmata.stop(),
      () => serial.stop(),
    );
    await Promise.all([firmata.start(), serial.start()]);
    const fromUno = await sink.waitFor((e) => e.kind === 'reading' && e.deviceId === 'uno');
    const fromBench = await sink.waitFor((e) => e.kind === 'reading' && e.deviceId === 'bench');
    // The demo signal swings between 24 and 32 °C.
    for (const reading of [fromUno, fromBench])
      expect(reading.kind === 'reading' && typeof reading.value === 'number' && reading.value > 20).toBe(
        true,
      );
  });

  it('asks for at least one board', async () => {
    const error = await runSimBoardCommand({}, new MemoryLogger()).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(EdgehubError);
    expect((error as EdgehubError).code).toBe('USAGE');
  });
});
