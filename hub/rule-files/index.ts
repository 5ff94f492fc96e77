export {
  checkName,
  DEFAULT_KEPT_VERSIONS,
  FIRINGS_LISTED,
  RULE_FILE_NAME,
  RuleFiles,
  RulesInvalidError,
  type Preview,
  type PreviewRequest,
  type RuleFileInfo,
  type RuleFileProblem,
  type RuleFilesDeps,
  type SaveResult,
  type Validation,
} from './rule-files.js';
export type { Firing, PreviewSide, RuleIdDiff } from './preview-backtest.js';
export {
  RuleFileVersions,
  type RuleFileVersion,
  type RuleFileVersionInfo,
  type RuleFileVersionsDeps,
} from './rule-file-versions.js';
export { ruleFilesRoutes } from './rule-files-routes.js';
export { writeFileAtomic } from './write-file-atomic.js';
