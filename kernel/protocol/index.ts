/**
 * The wire protocol both sides speak: the devices' adapters and the simulated firmware, the broker
 * and the rules. Nothing here knows either side.
 */
export {
  DeviceBook,
  deviceEntry,
  type DeclaredDevice,
  type DeviceBookDeps,
  type DeviceEntry,
} from './device-book.js';
export { LineFramer, type FramedChunk } from './line-framer.js';
export type { DeviceReading, DeviceStatusChange } from './readings.js';
export { switchWord } from './switch-word.js';
export {
  assertTopicFilter,
  filterCovers,
  filtersOverlap,
  topicLevels,
  topicMatches,
} from './topic-filter.js';
export {
  HUB_TOPICS,
  parseDeviceTopic,
  numberOfReading,
  readingValue,
  TOPICS,
  type DeviceTopic,
  type TopicKind,
} from './topics.js';
