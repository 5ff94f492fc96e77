export { parseDeviceTopic, readingValue, TOPICS, type DeviceTopic, type TopicKind } from './topics.js';
