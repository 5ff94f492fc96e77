export { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
export { Fan, parseFanCommand, type FanCommand, type FanOptions, type FanState } from './fan.js';
export {
  defaultDemoFleet,
  Fleet,
  type FanSpec,
  type FleetOptions,
  type SimSpec,
  type TemperatureSpec,
} from './fleet.js';
export { seededRandom, type RandomSource } from './random.js';
export {
  greenhouseSignal,
  profileSignal,
  swingSignal,
  type GreenhouseSignalOptions,
  type Signal,
  type SwingSignalOptions,
  type TemperatureProfile,
} from './signals.js';
export { runSimCommand, type SimCommandOptions } from './sim-command.js';
export {
  SimDevice,
  type SimDeviceDeps,
  type SimDeviceEvents,
  type SimDeviceOptions,
  type SimDevicePort,
  type SimDeviceState,
  type SimPart,
} from './sim-device.js';
export {
  TemperatureSensor,
  type TemperatureReading,
  type TemperatureSensorOptions,
} from './temperature-sensor.js';
export {
  FirmataBoardSim,
  type AnalogSource,
  type FirmataBoardSimOptions,
  type SimPinState,
} from './firmata/firmata-board-sim.js';
export { PIN_MODE, type PinMode } from './firmata/firmata-protocol.js';
export { unoPinMap, type BoardPinMap } from './firmata/uno-pin-map.js';
