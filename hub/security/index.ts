export {
  parseAclFile,
  readAclFile,
  SubjectAcl,
  type AclAccess,
  type AclRule,
  type AclSubject,
  type AclTable,
} from './acl.js';
export { AuthThrottle, type AuthThrottleOptions } from './auth-throttle.js';
export {
  runPasswdCommand,
  type PasswdDeps,
  type PasswdOptions,
  type PasswordSource,
} from './passwd-command.js';
export {
  formatPasswordFile,
  parsePasswordFile,
  readPasswordFile,
  usernameProblem,
  writePasswordFile,
  type PasswordTable,
} from './password-file.js';
export { DEFAULT_SCRYPT, hashPassword, verifyPassword, type ScryptParams } from './password-hash.js';
export { pipedPassword, promptedPassword } from './password-prompt.js';
export {
  Security,
  type AnonymousPolicy,
  type SecurityDeps,
  type SecurityOptions,
  type SecurityStats,
} from './security.js';
export { securityOptionsFromConfig } from './config.js';
