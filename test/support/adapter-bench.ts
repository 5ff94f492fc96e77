import type { AdapterDeps, DeviceDefinition, PortFactory } from '../../devices/index.js';
import { MemoryLogger, type Clock } from '../../kernel/index.js';
import { noPublisher } from './broker-fakes.js';
import { MemoryPorts } from './memory-port.js';
import { RecordingSink } from './recording-sink.js';

/** What a serial or Firmata adapter under test is built from, and what a test looks at. */
export interface AdapterBench<C extends Clock = Clock> {
  clock: C;
  logger: MemoryLogger;
  /** Records the adapter's readings, states and availability. */
  sink: RecordingSink;
  /** Where the test plugs simulated devices in. */
  ports: MemoryPorts;
  /** The adapter's deps, for these definitions. */
  deps: (devices: readonly DeviceDefinition[]) => AdapterDeps;
  /** Adapter options that make it open `ports` instead of serial ports. */
  options: { testing: { portFactory: PortFactory } };
}

export function adapterBench<C extends Clock>(clock: C): AdapterBench<C> {
  const logger = new MemoryLogger();
  const sink = new RecordingSink();
  const ports = new MemoryPorts();
  return {
    clock,
    logger,
    sink,
    ports,
    deps: (devices) => ({ clock, logger, sink, devices, publisher: noPublisher }),
    options: { testing: { portFactory: ports.factory } },
  };
}
