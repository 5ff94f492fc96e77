export {
  SqlitePersistence,
  type PersistenceStats,
  type SqlitePersistenceDeps,
} from './sqlite-persistence.js';
export { brokerDbPath } from './schema.js';
