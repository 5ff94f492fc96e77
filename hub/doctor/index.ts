export { fail, ok, warn, type CheckResult, type CheckStatus } from './check-result.js';
export { systemEnv, type CommandOutput, type DiskSpace, type DoctorEnv } from './doctor-env.js';
export { doctorExitCode, formatDoctorReport, runDoctor, type DoctorOptions } from './run-doctor.js';
