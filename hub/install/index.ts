export { INSTALL_PATHS, SERVICE_NAME, SERVICE_USER } from './layout.js';
export { checkNodeVersion, MIN_NODE, nodeIsRecentEnough } from './node-version.js';
export { runInstall, runUninstall, unitFor, type InstallOptions, type UninstallOptions } from './install.js';
export { journaldDropIn, serviceUnit, type ExecStart, type ServiceUnitOptions } from './service-unit.js';
export { InstallTarget, type InstallStep } from './target.js';
