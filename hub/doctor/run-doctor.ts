import type { CheckResult, CheckStatus } from './check-result.js';
import { clockChecks } from './clock-checks.js';
import { configCheck, rulesCheck } from './config-checks.js';
import { connectorChecks } from './connector-checks.js';
import { dataChecks } from './data-checks.js';
import type { DoctorEnv } from './doctor-env.js';
import { portChecks } from './port-checks.js';
import { nativeModuleChecks, nodeVersionCheck } from './runtime-checks.js';
import { secretFileChecks, tlsChecks } from './security-checks.js';
import { serialChecks } from './serial-checks.js';
import { serviceCheck } from './service-checks.js';
import { serviceUser } from './service-user.js';

export interface DoctorOptions {
  /** The config file the hub runs with; every default without one, as for `edgehub start`. */
  configFile?: string;
  /** ms a connector's remote has to accept a TCP connection. */
  connectTimeoutMs?: number;
}

/**
 * Every check, in the order a reader fixes things: the runtime, the config, then what the config
 * names. Without a loadable config, the checks that need one are left out (the config FAIL says why).
 */
export async function runDoctor(options: DoctorOptions, env: DoctorEnv): Promise<CheckResult[]> {
  const results: CheckResult[] = [nodeVersionCheck(env), ...(await nativeModuleChecks(env))];
  const { result, loaded } = configCheck(options.configFile);
  results.push(result);
  if (loaded) {
    const { config, devices } = loaded;
    const user = serviceUser(env);
    results.push(rulesCheck(loaded, options.configFile));
    results.push(...(await portChecks(env, config)));
    results.push(...(await dataChecks(env, config.hub.data_dir, user)));
    results.push(...serialChecks(env, devices, user));
    results.push(...(await clockChecks(env)));
    results.push(...tlsChecks(env, config, user));
    results.push(...secretFileChecks(config, user));
    results.push(...(await connectorChecks(env, config.connectors, options.connectTimeoutMs)));
  } else {
    results.push(...(await clockChecks(env)));
  }
  results.push(await serviceCheck(env));
  return results;
}

/** 1 when anything FAILed, else 0: WARNs do not stop a hub. */
export function doctorExitCode(results: readonly CheckResult[]): number {
  return results.some((r) => r.status === 'FAIL') ? 1 : 0;
}

/** The human report: one line per check, its fix indented under it, and a count. */
export function formatDoctorReport(results: readonly CheckResult[]): string[] {
  const width = Math.max(...results.map((r) => r.check.length));
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.status.padEnd(4)}  ${r.check.padEnd(width)}  ${r.message}`);
    if (r.fix !== undefined) lines.push(`${' '.repeat(width + 8)}fix: ${r.fix}`);
  }
  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  lines.push('', `${count('FAIL')} FAIL, ${count('WARN')} WARN, ${count('OK')} OK`);
  return lines;
}
