export {
  Backoff,
  backoffDelay,
  BackoffTimer,
  DEFAULT_BACKOFF,
  type BackoffOptions,
  type BackoffTimerDeps,
} from './backoff.js';
export { TypedBus } from './bus.js';
export { SystemClock, VirtualClock, type Clock, type TimerHandle } from './clock.js';
export { DirWatch, type DirWatchDeps } from './dir-watch.js';
export { formatDuration, isDuration, parseDuration } from './duration.js';
export {
  EdgehubError,
  EdgehubErrors,
  errorMessage,
  formatLocation,
  type ErrorCode,
  type SourceLocation,
} from './errors.js';
export {
  migrate,
  newerSchemaError,
  readSchemaVersion,
  schemaVersionOf,
  type DatabaseSchema,
  type Migration,
} from './migrate.js';
export {
  ConsoleLogger,
  levelFor,
  MemoryLogger,
  type ConsoleLoggerOptions,
  type LogFields,
  type LogLevel,
  type Logger,
} from './logger.js';
export { formatPath, YamlSource } from './yaml-source.js';
export {
  decodeMessage,
  decodePayload,
  utf8,
  type Cause,
  type CauseLink,
  type DecodedPayload,
  type MessageSource,
  type MqttMessage,
  type OutgoingMessage,
  type Publisher,
  type RetainedReader,
  type QoS,
} from './messages.js';
export type {
  Actuators,
  CommandResult,
  DeviceDirectory,
  DeviceStatus as DeviceAvailability,
  DeviceView,
} from './ports.js';
export {
  assertTopicFilter,
  DeviceBook,
  deviceEntry,
  filterCovers,
  filtersOverlap,
  LineFramer,
  parseDeviceTopic,
  numberOfReading,
  readingValue,
  switchWord,
  topicLevels,
  topicMatches,
  HUB_TOPICS,
  TOPICS,
  type DeclaredDevice,
  type DeviceBookDeps,
  type DeviceEntry,
  type DeviceReading,
  type DeviceStatusChange,
  type DeviceTopic,
  type FramedChunk,
  type TopicKind,
} from './protocol/index.js';
export { loadSerialPorts } from './serial/load.js';
