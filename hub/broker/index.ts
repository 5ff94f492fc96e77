export {
  Broker,
  type AedesPersistence,
  type BrokerDeps,
  type BrokerOptions,
  type BrokerStats,
  type ConnectionInfo,
  type ListenerKind,
  type ListenAddress,
} from './broker.js';
