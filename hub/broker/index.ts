export {
  Broker,
  type AedesPersistence,
  type BrokerDeps,
  type BrokerOptions,
  type BrokerStats,
  type BrokerTlsOptions,
} from './broker.js';
export type {
  AuthRefusalCode,
  AuthRefusalKind,
  AuthRequest,
  AuthResult,
  AuthSubject,
  BrokerAuth,
} from './auth-port.js';
export { isLoopback, type ConnectionInfo, type ListenerKind } from './connection-info.js';
export { DEFAULT_LIMITS, type BrokerLimits, type GuardCounters } from './guard.js';
export { loadTlsOptions, reloadCertificate, type ListenAddress, type TlsFiles } from './listeners.js';
export { brokerOptionsFromConfig } from './config.js';
