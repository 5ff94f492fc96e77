export { differences, type Difference } from './expectations.js';
export {
  RuleHarness,
  SteppingClock,
  type RecordedAlert,
  type RecordedCommand,
  type RecordedForward,
  type RecordedPublish,
  type RuleHarnessOptions,
} from './harness.js';
export { MemoryDevices } from './memory-devices.js';
export {
  loadScenario,
  runScenario,
  runScenarioFile,
  runTestCommand,
  scenarioFiles,
  type LoadedScenario,
  type ScenarioResult,
} from './runner.js';
export { scenarioSchema, type Scenario } from './schema.js';
