export {
  DATA_FOLDER_SCHEMAS,
  inspectDataFolder,
  type SchemaState,
  type SchemaStatus,
} from './data-folder-schemas.js';
export { upgradeDataFolder, type UpgradeOptions, type UpgradeReport } from './upgrade-data-folder.js';
