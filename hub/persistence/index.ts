export {
  SqlitePersistence,
  type PersistenceStats,
  type SqlitePersistenceDeps,
} from './sqlite-persistence.js';
export { BROKER_DB_SCHEMA, brokerDbPath } from './schema.js';
