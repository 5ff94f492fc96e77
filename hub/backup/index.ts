export { createBackup, type BackupOptions } from './create-backup.js';
export { MANIFEST_NAME, type Manifest, type ManifestFile } from './manifest.js';
export {
  assertNoHubRunning,
  openBackup,
  readBackupFile,
  restoreBackup,
  type OpenedBackup,
  type RestoreReport,
  type RestoreTargets,
} from './restore-backup.js';
