import { execFileSync } from 'node:child_process';
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
