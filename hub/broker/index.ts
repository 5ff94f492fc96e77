export {
  Broker,
  type BrokerDeps,
  type BrokerOptions,
  type BrokerStats,
  type ListenAddress,
} from './broker.js';
