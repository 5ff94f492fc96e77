import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertFiles {
  cert: string;
  key: string;
}

/** Whether `openssl` is on the PATH (Debian has it); TLS tests skip without it. */
/**
 * Throws, naming what to install, when openssl is missing: a missing tool fails the TLS tests, it
 * never passes them by skipping. `.ci/run` installs it.
 */
export function requireOpenssl(): void {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
  } catch (err) {
    throw new Error(`the TLS tests make certificates with openssl (apt-get install openssl): ${String(err)}`);
  }
}

/**
 * A self-signed P-256 certificate for `localhost` and 127.0.0.1, valid for two days, written as
 * `<name>.crt` and `<name>.key` in `dir`. Node cannot sign X.509 certificates itself, so this shells
 * out to openssl.
 */
export function selfSignedCert(dir: string, name: string, cn = 'localhost'): CertFiles {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/**
 * A self-signed certificate valid from `notBefore` to `notAfter` (`YYYYMMDDhhmmssZ`, UTC), e.g. one
 * that has already expired. `openssl req -x509` cannot backdate before OpenSSL 3.4; `openssl ca`
 * with `-selfsign` can, given a throwaway CA database in `dir`.
 */
export function certWithDates(dir: string, name: string, notBefore: string, notAfter: string): CertFiles {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const db = join(dir, `${name}.ca`);
  mkdirSync(db, { recursive: true });
  writeFileSync(join(db, 'index.txt'), '');
  writeFileSync(join(db, 'serial'), '01\n');
  writeFileSync(
    join(db, 'ca.cnf'),
    `[ca]\ndefault_ca = x\n[x]\ndatabase = ${db}/index.txt\nnew_certs_dir = ${db}\nserial = ${db}/serial\n` +
      'default_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n',
  );
  const run = (args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  run(
    ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      '/CN=localhost',
    ]),
  );
  run(
    ['ca', '-batch', '-config', join(db, 'ca.cnf'), '-selfsign', '-keyfile', key, '-in', csr].concat([
      '-out',
      cert,
      '-startdate',
      notBefore,
      '-enddate',
      notAfter,
      '-notext',
    ]),
  );
  return { cert, key };
}
