export { Fan, parseFanCommand, type FanCommand, type FanOptions, type FanState } from './fan.js';
export {
  defaultDemoFleet,
  Fleet,
  type FanSpec,
  type FleetOptions,
  type ProfileSpec,
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
  type SimDeviceStats,
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
export { PtyPair, type PtyPairOptions } from './pty/pty-pair.js';
export { closeSimPort, openSimPort } from './pty/sim-port.js';
export {
  JsonLineDeviceSim,
  type JsonLineDeviceSimOptions,
  type SimActuatorState,
} from './serial/json-line-device-sim.js';
export { activityRate, humiditySignal, lightLevelSignal } from './ambient-signals.js';
export { EventSensor, type EventSensorOptions } from './event-sensor.js';
export { runFleetCommand, type FleetCommandOptions, type FleetRun } from './fleet-command.js';
export { fleetFileSchema, fleetSpecs, loadFleetFile, parseFleetFile, type FleetGroup } from './fleet-file.js';
export { PeriodicSensor, type PeriodicReading, type PeriodicSensorOptions } from './periodic-sensor.js';
export { profileParts, SIM_PROFILES, type ProfileOptions, type SimProfile } from './profiles.js';
export { ScaledClock } from './scaled-clock.js';
export { parseLoadCommand, SwitchedLoad, type LoadState, type SwitchedLoadOptions } from './switched-load.js';
export { runSimBoardCommand, type SimBoardCommandOptions } from './pty/sim-board-command.js';
