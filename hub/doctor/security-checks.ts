import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { HubConfig } from '../config/schema.js';
import { fail, ok, reason, warn, type CheckResult } from './check-result.js';
import type { DoctorEnv } from './doctor-env.js';
import { mayAccess, type ServiceUser } from './service-user.js';

const DAY_MS = 86_400_000;
/** Certificates expiring sooner than this get a WARN: time enough to renew one by hand. */
export const CERT_WARN_DAYS = 30;

/** The TLS certificate, key and CA: readable, matching, and how long until the certificate expires. */
export function tlsChecks(env: DoctorEnv, config: Readonly<HubConfig>, user: ServiceUser): CheckResult[] {
  const tls = config.mqtt.tls;
  const on = tls.port !== null || tls.ws_port !== null;
  if (!on && tls.cert === undefined) return [ok('tls', 'no TLS listener is configured')];
  const results: CheckResult[] = [];
  let cert: X509Certificate | undefined;
  if (tls.cert !== undefined) {
    const read = readPem('tls.cert', tls.cert, user);
    if ('result' in read) results.push(read.result);
    else {
      try {
        cert = new X509Certificate(read.text);
        results.push(expiryCheck('tls.cert', tls.cert, cert, env.now()));
      } catch (err) {
        results.push(
          fail(
            'tls.cert',
            `${tls.cert} is not a PEM certificate: ${reason(err)}`,
            'point mqtt.tls.cert at the PEM certificate (chain)',
          ),
        );
      }
    }
  }
  if (tls.key !== undefined) {
    const read = readPem('tls.key', tls.key, user);
    if ('result' in read) results.push(read.result);
    else results.push(keyCheck(tls.key, read.text, cert, user));
  }
  if (tls.ca !== undefined) {
    const read = readPem('tls.ca', tls.ca, user);
    if ('result' in read) results.push(read.result);
    else {
      try {
        results.push(expiryCheck('tls.ca', tls.ca, new X509Certificate(read.text), env.now()));
      } catch (err) {
        results.push(
          fail(
            'tls.ca',
            `${tls.ca} is not a PEM certificate: ${reason(err)}`,
            'point mqtt.tls.ca at a PEM CA bundle',
          ),
        );
      }
    }
  }
  return results;
}

function keyCheck(
  file: string,
  pem: string,
  cert: X509Certificate | undefined,
  user: ServiceUser,
): CheckResult {
  let key;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    return fail(
      'tls.key',
      `${file} is not a PEM private key: ${reason(err)}`,
      'point mqtt.tls.key at the PEM private key',
    );
  }
  if (cert !== undefined && !cert.checkPrivateKey(key))
    return fail(
      'tls.key',
      `${file} is not the key of the certificate`,
      'give the key the certificate was made for',
    );
  return secretFileCheck('tls.key', file, user);
}

function readPem(check: string, file: string, user: ServiceUser): { text: string } | { result: CheckResult } {
  try {
    const text = readFileSync(file, 'utf8');
    if (user.service && !mayAccess(statSync(file), user, 4))
      return {
        result: fail(
          check,
          `${file} is not readable by the service user ${user.name}`,
          `sudo chown ${user.name} ${file}`,
        ),
      };
    return { text };
  } catch (err) {
    return {
      result: fail(
        check,
        `cannot read ${file}: ${reason(err)}`,
        `fix the path, or make the file readable by ${user.name}`,
      ),
    };
  }
}

export function expiryCheck(check: string, file: string, cert: X509Certificate, nowMs: number): CheckResult {
  const from = Date.parse(cert.validFrom);
  const to = Date.parse(cert.validTo);
  const days = Math.floor((to - nowMs) / DAY_MS);
  const until = new Date(to).toISOString().slice(0, 10);
  const renew = `renew the certificate in ${file}, then reload the hub (kill -HUP, or systemctl reload edgehub)`;
  if (to <= nowMs) return fail(check, `${file} expired on ${until}`, renew);
  if (from > nowMs)
    return fail(
      check,
      `${file} is not valid before ${new Date(from).toISOString().slice(0, 10)}`,
      'check the clock (clock.time), or make a new certificate',
    );
  if (days < CERT_WARN_DAYS) return warn(check, `${file} expires on ${until}, in ${days} days`, renew);
  return ok(check, `${file} is valid until ${until} (${days} days)`);
}

/**
 * A file holding secrets (password hashes, an ACL naming every user, a private key): readable by the
 * hub, by nobody else. Group read is fine for the service user's own group (root:edgehub 0640).
 */
export function secretFileCheck(check: string, file: string, user: ServiceUser): CheckResult {
  let mode: number;
  let gid: number;
  try {
    const stat = statSync(file);
    readFileSync(file);
    if (user.service && !mayAccess(stat, user, 4))
      return fail(
        check,
        `${file} is not readable by the service user ${user.name}`,
        `sudo chown ${user.name} ${file}; chmod 600 ${file}`,
      );
    mode = stat.mode & 0o777;
    gid = stat.gid;
  } catch (err) {
    return fail(
      check,
      `cannot read ${file}: ${reason(err)}`,
      `fix the path, or make it readable by ${user.name}`,
    );
  }
  const octal = mode.toString(8).padStart(3, '0');
  const fix = `chmod 600 ${file} (or 640 with group ${user.name})`;
  if (mode & 0o004) return warn(check, `${file} is readable by every user (mode ${octal})`, fix);
  if (mode & 0o040 && gid !== user.gid)
    return warn(check, `${file} is readable by its group (mode ${octal})`, fix);
  return ok(check, `${file} is readable by its owner only (mode ${octal})`);
}

/** The broker's password and ACL files and the connectors' password files. */
export function secretFileChecks(config: Readonly<HubConfig>, user: ServiceUser): CheckResult[] {
  const files: [string, string | undefined][] = [
    ['security.password_file', config.mqtt.security.password_file],
    ['security.acl_file', config.mqtt.security.acl_file],
    ...config.connectors.map((c): [string, string | undefined] => [
      `connector.${c.id}.password_file`,
      c.password_file,
    ]),
  ];
  return files.flatMap(([check, file]) => (file === undefined ? [] : [secretFileCheck(check, file, user)]));
}
