import { existsSync, readFileSync } from 'node:fs';
import type * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import type Docker from 'dockerode';
import { DockerceptionError } from '../errors';
import { DEFAULT_PIPE, DEFAULT_SOCKET, type EngineAddress, type EngineTls } from './address';
import { SshDialAgent, unquotable, type SshTarget } from './ssh-dial';

/** An engine URL split as the docker CLI splits it (opts.ParseHost): "host:port" alone means tcp. */
export function parseEngineUrl(url: string): { scheme: string; rest: string } {
  const at = url.indexOf('://');
  return at < 0 ? { scheme: 'tcp', rest: url } : { scheme: url.slice(0, at).toLowerCase(), rest: url.slice(at + 3) };
}

function badAddress(address: EngineAddress, why: string): DockerceptionError {
  return new DockerceptionError(
    'ENGINE_UNREACHABLE',
    `The engine address '${address.url}' (from ${address.source}) ${why} The docker CLI takes unix:///path, tcp://host:port, ssh://[user@]host[:port] and npipe:////./pipe/name, e.g. unix:///var/run/docker.sock or tcp://127.0.0.1:2375.`,
    'connect',
  );
}

/** dockerode's options plus the `agent` docker-modem passes to every request (its types omit it). */
export type ClientOptions = Docker.DockerOptions & { agent?: http.Agent };

/**
 * dockerode options for an address. Every field is set, so that nothing docker-modem reads from DOCKER_*
 * can fill a gap (see createClient).
 */
export function dockerOptions(address: EngineAddress): ClientOptions {
  const { scheme, rest } = parseEngineUrl(address.url);
  const blank = { socketPath: undefined, host: undefined, port: undefined, protocol: undefined, ca: undefined, cert: undefined, key: undefined } as const;
  const version = address.apiVersion ? { version: `v${address.apiVersion.replace(/^v/, '')}` } : {};
  switch (scheme) {
    case 'unix':
      if (rest.includes('://')) throw badAddress(address, 'has a second scheme inside it.');
      // The rest is the path as written: unix://docker.sock is a socket in the current folder, as for the CLI.
      return { ...blank, ...version, socketPath: rest || DEFAULT_SOCKET };
    case 'npipe':
      return { ...blank, ...version, socketPath: rest || DEFAULT_PIPE };
    case 'ssh':
      return { ...blank, ...version, protocol: 'http', host: 'docker', port: 80, agent: new SshDialAgent(sshTarget(address)) };
    case 'tcp': {
      const url = parseHostPort(address, rest);
      const tls = address.tls ? tlsAgent(address, address.tls) : undefined;
      // A path in a tcp:// address goes before every API path, as the docker CLI sends it
      // (tcp://h:2375/base → /base/_ping, /base/v1.41/...). docker-modem writes '/' + version before each
      // path, so the base path rides there.
      const base = url.pathname.replace(/^\/+|\/+$/g, '');
      const versioned = base ? { version: [base, version.version].filter(Boolean).join('/') } : version;
      return {
        ...blank,
        ...versioned,
        protocol: tls ? 'https' : 'http',
        host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port || 2375,
        ...(tls ? { agent: tls } : {}),
      };
    }
    default:
      throw badAddress(address, `uses '${scheme}://', which is not an engine address.`);
  }
}

function parseHostPort(address: EngineAddress, rest: string): URL {
  let url: URL;
  try {
    url = new URL(`tcp://${rest}`);
  } catch {
    throw badAddress(address, 'is not host:port.');
  }
  if (!url.hostname) throw badAddress(address, 'names no host.');
  // The CLI cannot add its default port to an IPv6 host: it refuses tcp://[::1] without one.
  if (url.hostname.startsWith('[') && !url.port) throw badAddress(address, 'is not host:port (an IPv6 host needs a port: tcp://[::1]:2375).');
  if (url.search || url.hash) throw badAddress(address, 'has a query or fragment, which tcp:// addresses cannot have.');
  return url;
}

export function sshTarget(address: EngineAddress): SshTarget {
  let url: URL;
  try {
    url = new URL(address.url.trim());
  } catch {
    throw badAddress(address, 'is not ssh://[user@]host[:port].');
  }
  if (!url.hostname) throw badAddress(address, 'names no host.');
  if (url.password) throw badAddress(address, 'has a password in it; ssh takes keys (from ssh-agent or ~/.ssh/config), not passwords in the URL.');
  if (url.search) throw badAddress(address, `has a query (${url.search}), which ssh:// addresses cannot have.`);
  if (url.hash) throw badAddress(address, `has a fragment (${url.hash}), which ssh:// addresses cannot have.`);
  let socket: string;
  let user: string;
  try {
    socket = decodeURIComponent(url.pathname);
    user = decodeURIComponent(url.username);
  } catch {
    throw badAddress(address, 'has a %-escape that is not UTF-8.');
  }
  // The socket path goes to the remote user's shell inside the command ssh runs there: quoted word by
  // word (see remoteCommand), and refused when a POSIX shell cannot quote it.
  const why = unquotable(socket);
  if (why) throw badAddress(address, `has a socket path holding ${why}; nothing was sent to ${url.hostname}. Rename the socket on the remote host.`);
  const whyUser = unquotable(user);
  if (whyUser || user.startsWith('-')) throw badAddress(address, `has a user name that ssh cannot take (${whyUser ?? 'it starts with -'}).`);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    ...(user ? { user } : {}),
    ...(url.port ? { port: url.port } : {}),
    ...(socket && socket !== '/' ? { socket } : {}),
  };
}

/** An https.Agent carrying the TLS material, so that verification can be turned off for a context that
 * says SkipTLSVerify (docker-modem passes no rejectUnauthorized of its own). */
function tlsAgent(address: EngineAddress, tls: EngineTls): https.Agent {
  const file = (name: string) => path.join(tls.dir, name);
  const read = (name: string) => readFileSync(file(name));
  // The CLI requires ca.pem for DOCKER_TLS_VERIFY / DOCKER_TLS; a context without one uses the system's CAs.
  if (!existsSync(file('ca.pem')) && tls.dirSource !== 'context') {
    throw new DockerceptionError(
      'ENGINE_UNREACHABLE',
      `TLS is on for ${address.url} (${tls.verify ? 'DOCKER_TLS_VERIFY' : 'DOCKER_TLS'} is set), but there is no ca.pem in ${tls.dir} ` +
        `(from ${tls.dirSource === 'DOCKER_CERT_PATH' ? 'DOCKER_CERT_PATH' : 'the docker config folder, as DOCKER_CERT_PATH is not set'}). ` +
        `Point DOCKER_CERT_PATH at the folder holding ca.pem, cert.pem and key.pem, or unset DOCKER_TLS_VERIFY and DOCKER_TLS for a plain connection.`,
      'connect',
    );
  }
  const hasCert = existsSync(file('cert.pem'));
  if (hasCert && !existsSync(file('key.pem'))) {
    throw new DockerceptionError(
      'ENGINE_UNREACHABLE',
      `${file('cert.pem')} has no key.pem beside it. Put the client key there, or remove cert.pem.`,
      'connect',
    );
  }
  return new https.Agent({
    keepAlive: true,
    rejectUnauthorized: tls.verify,
    ...(existsSync(file('ca.pem')) ? { ca: read('ca.pem') } : {}),
    ...(hasCert ? { cert: read('cert.pem'), key: read('key.pem') } : {}),
  });
}
