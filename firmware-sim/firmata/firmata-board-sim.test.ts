import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryPortPair, settle } from '../../test/support/memory-port.js';
import { VirtualClock } from '../../kernel/index.js';
import { FirmataBoardSim } from './firmata-board-sim.js';
import { FirmataParser, type HostMessage } from './firmata-parser.js';
import { CMD, PIN_MODE, SYSEX } from './firmata-protocol.js';

function setup() {
  const clock = new VirtualClock(0);
  const pair = new MemoryPortPair();
  const sim = new FirmataBoardSim({ clock }, { firmwareName: 'uno-test' });
  sim.attach(pair.device);
  const received: number[] = [];
  pair.host.on('data', (chunk: Buffer) => received.push(...chunk));
  /** Sends bytes as the host and returns what the board sent since the last exchange. */
  const exchange = async (...bytes: number[]): Promise<number[]> => {
    if (bytes.length > 0) pair.host.write(Buffer.from(bytes));
    await settle();
    return received.splice(0);
  };
  return { clock, pair, sim, exchange };
}

const sysex = (command: number, ...data: number[]) => [CMD.START_SYSEX, command, ...data, CMD.END_SYSEX];

describe('FirmataBoardSim', () => {
  it('sends nothing unprompted, then answers the handshake johnny-five runs', async () => {
    const { exchange } = setup();
    expect(await exchange()).toEqual([]);
    expect(await exchange(CMD.REPORT_VERSION)).toEqual([0xf9, 2, 6]);
    const firmware = await exchange(...sysex(SYSEX.QUERY_FIRMWARE));
    expect(firmware.slice(0, 4)).toEqual([0xf0, 0x79, 2, 6]);
    const name = firmware.slice(4, -1).filter((_, i) => i % 2 === 0);
    expect(Buffer.from(name).toString()).toBe('uno-test');
  });

  it('describes an Uno: 20 pins, PWM on 3/5/6/9/10/11, A0–A5 on pins 14–19', async () => {
    const { exchange } = setup();
    const caps = await exchange(...sysex(SYSEX.CAPABILITY_QUERY));
    expect(caps.slice(0, 2)).toEqual([0xf0, 0x6c]);
    const pins = [new Map<number, number>()];
    for (let i = 2; i < caps.length - 1;) {
      if (caps[i] === 0x7f) {
        pins.push(new Map<number, number>());
        i++;
      } else {
        pins.at(-1)?.set(caps[i] ?? -1, caps[i + 1] ?? -1);
        i += 2;
      }
    }
    pins.pop();
    expect(pins).toHaveLength(20);
    expect(pins[0]?.size).toBe(0);
    expect(pins[3]?.get(PIN_MODE.PWM)).toBe(8);
    expect(pins[13]?.has(PIN_MODE.PWM)).toBe(false);
    expect(pins[14]?.get(PIN_MODE.ANALOG)).toBe(10);
    const mapping = await exchange(...sysex(SYSEX.ANALOG_MAPPING_QUERY));
    expect(mapping).toEqual([0xf0, 0x6a, ...Array<number>(14).fill(0x7f), 0, 1, 2, 3, 4, 5, 0xf7]);
  });

  it('reports an analog input at once and then every sampling interval of clock time', async () => {
    const { clock, sim, exchange } = setup();
    sim.setAnalog('A2', 700);
    expect(await exchange(CMD.REPORT_ANALOG | 2, 1)).toEqual([0xe2, 700 & 0x7f, 700 >> 7]);
    sim.setAnalog(2, (now) => now); // a ramp: the raw value is the clock time
    clock.advance(19);
    expect(await exchange()).toEqual([0xe2, 19, 0]);
    expect(await exchange(...sysex(SYSEX.SAMPLING_INTERVAL, 100, 0))).toEqual([]);
    clock.advance(99);
    expect(await exchange()).toEqual([]);
    clock.advance(1);
    expect(await exchange()).toEqual([0xe2, 119, 0]);
    expect(sim.samplingIntervalMs).toBe(100);
    await exchange(CMD.REPORT_ANALOG | 2, 0);
    clock.advance(1000);
    expect(await exchange()).toEqual([]);
  });

  it('drives outputs from digital port messages and PWM writes, observably', async () => {
    const { sim, exchange } = setup();
    const high = sim.waitForPin(13, (p) => p.value === 1);
    await exchange(CMD.SET_PIN_MODE, 13, PIN_MODE.OUTPUT, CMD.DIGITAL_MESSAGE | 1, 1 << 5, 0);
    expect(await high).toEqual({ pin: 13, mode: PIN_MODE.OUTPUT, value: 1 });
    await exchange(CMD.SET_PIN_MODE, 9, PIN_MODE.PWM, CMD.ANALOG_MESSAGE | 9, 200 & 0x7f, 200 >> 7);
    expect(sim.pin(9)).toEqual({ pin: 9, mode: PIN_MODE.PWM, value: 200 });
    await exchange(CMD.SET_DIGITAL_PIN_VALUE, 13, 0);
    expect(sim.pin(13).value).toBe(0);
  });

  it('refuses a mode the pin does not have, as the firmware does', async () => {
    const { sim, exchange } = setup();
    const answer = await exchange(CMD.SET_PIN_MODE, 13, PIN_MODE.PWM);
    expect(answer.slice(0, 2)).toEqual([0xf0, SYSEX.STRING_DATA]);
    expect(sim.pin(13).mode).toBe(PIN_MODE.OUTPUT);
  });

  it('reports a digital port when asked and whenever an input changes', async () => {
    const { sim, exchange } = setup();
    await exchange(CMD.SET_PIN_MODE, 2, PIN_MODE.PULLUP);
    expect(await exchange(CMD.REPORT_DIGITAL | 0, 1)).toEqual([0x90, 0b100, 0]);
    sim.setDigital(2, false); // a button pulls it to ground
    expect(await exchange()).toEqual([0x90, 0, 0]);
    sim.setDigital(2, false);
    expect(await exchange()).toEqual([]);
  });

  it('stops talking when detached and answers again on a new stream', async () => {
    const { sim, pair, exchange } = setup();
    pair.unplug();
    await settle();
    const next = new MemoryPortPair();
    sim.attach(next.device);
    const got: number[] = [];
    next.host.on('data', (c: Buffer) => got.push(...c));
    next.host.write(Buffer.from([CMD.REPORT_VERSION]));
    await settle();
    expect(got).toEqual([0xf9, 2, 6]);
    expect(await exchange(CMD.REPORT_VERSION)).toEqual([]);
  });
});

describe('FirmataParser', () => {
  const stream = [
    CMD.REPORT_VERSION,
    ...sysex(SYSEX.QUERY_FIRMWARE),
    CMD.SET_PIN_MODE,
    13,
    1,
    CMD.DIGITAL_MESSAGE | 1,
    0x20,
    0,
    CMD.REPORT_ANALOG | 3,
    1,
    ...sysex(SYSEX.SAMPLING_INTERVAL, 0x64, 0),
  ];

  it('gives the same messages however the bytes are chunked', () => {
    const whole: HostMessage[] = [];
    new FirmataParser((m) => whole.push(m)).push(Uint8Array.from(stream));
    expect(whole).toHaveLength(6);
    fc.assert(
      fc.property(fc.array(fc.nat(stream.length), { maxLength: 8 }), (cuts) => {
        const out: HostMessage[] = [];
        const parser = new FirmataParser((m) => out.push(m));
        let start = 0;
        for (const cut of [...cuts.sort((a, b) => a - b), stream.length]) {
          parser.push(Uint8Array.from(stream.slice(start, cut)));
          start = Math.max(start, cut);
        }
        expect(out).toEqual(whole);
      }),
    );
  });

  it('drops a message cut short by the next command and resynchronises', () => {
    const out: HostMessage[] = [];
    new FirmataParser((m) => out.push(m)).push(
      Uint8Array.from([0x42, CMD.SET_PIN_MODE, 13, CMD.REPORT_VERSION]),
    );
    expect(out).toEqual([{ kind: 'midi', command: CMD.REPORT_VERSION, data: [] }]);
  });
});
