import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { mustRun } from './process';

/** What makeCerts writes: the engine's side, and client folders laid out as DOCKER_CERT_PATH expects. */
export interface Certs {
  /** ca.pem, server-cert.pem, server-key.pem: what dockerd --tlsverify is given. */
  server: { ca: string; cert: string; key: string };
  /** ca.pem, cert.pem, key.pem signed by the engine's CA. */
  client: string;
  /** The same layout, but ca.pem is another CA's: the engine's certificate must be refused. */
  wrongCa: string;
  /** ca.pem only: the engine must refuse a client without a certificate. */
  caOnly: string;
}

function openssl(dir: string, ...args: string[]): void {
  mustRun('openssl', args, { cwd: dir });
}

function makeCa(dir: string, name: string): void {
  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}-key.pem`, '-out', `${name}.pem`);
}

function sign(dir: string, ca: string, name: string, subject: string, extensions: string): void {
  writeFileSync(path.join(dir, `${name}.ext`), extensions);
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${subject}`, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`);
  openssl(
    dir,
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.pem`,
    '-CAkey',
    `${ca}-key.pem`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}-cert.pem`,
  );
}

/** A CA, an engine certificate for 127.0.0.1, a client certificate, and an unrelated CA, made by openssl. */
export function makeCerts(dir: string): Certs {
  mkdirSync(dir, { recursive: true });
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  sign(dir, 'ca', 'server', '127.0.0.1', 'subjectAltName = IP:127.0.0.1,DNS:localhost\nextendedKeyUsage = serverAuth\n');
  sign(dir, 'ca', 'client', 'dockerception-test', 'extendedKeyUsage = clientAuth\n');
  const layout = (name: string, ca: string, withCert: boolean): string => {
    const folder = path.join(dir, name);
    mkdirSync(folder, { recursive: true });
    mustRun('cp', [path.join(dir, `${ca}.pem`), path.join(folder, 'ca.pem')]);
    if (withCert) {
      mustRun('cp', [path.join(dir, 'client-cert.pem'), path.join(folder, 'cert.pem')]);
      mustRun('cp', [path.join(dir, 'client-key.pem'), path.join(folder, 'key.pem')]);
    }
    return folder;
  };
  return {
    server: { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'server-cert.pem'), key: path.join(dir, 'server-key.pem') },
    client: layout('client', 'ca', true),
    wrongCa: layout('wrong-ca', 'other-ca', true),
    caOnly: layout('ca-only', 'ca', false),
  };
}

/** What makeRegistryCerts writes: a CA and a server certificate it signed, for a registry's hosts. */
export interface RegistryCerts {
  /** The CA's certificate (PEM): what /etc/docker/certs.d/HOST/ca.crt and clients are given. */
  ca: string;
  cert: string;
  key: string;
}

/** A CA of its own and a registry certificate for `ips` (IP SANs) and localhost, made by openssl. */
export function makeRegistryCerts(dir: string, ips: readonly string[] = ['127.0.0.1']): RegistryCerts {
  mkdirSync(dir, { recursive: true });
  makeCa(dir, 'registry-ca');
  const san = [...ips.map((ip) => `IP:${ip}`), 'DNS:localhost'].join(',');
  sign(dir, 'registry-ca', 'registry', ips[0] ?? 'localhost', `subjectAltName = ${san}\nextendedKeyUsage = serverAuth\n`);
  return { ca: path.join(dir, 'registry-ca.pem'), cert: path.join(dir, 'registry-cert.pem'), key: path.join(dir, 'registry-key.pem') };
}
