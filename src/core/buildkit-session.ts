import { randomUUID } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { RegistryAuth } from './registry-auth';

const CREDENTIALS = '/moby.filesync.v1.Auth/Credentials';
/** Docker Hub's key in config.json, and the hosts BuildKit asks for it under. */
const HUB_KEY = 'https://index.docker.io/v1/';
const HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** An open BuildKit session: its id goes into the build request; close it when the build has ended. */
export interface BuildSession {
  id: string;
  close(): void;
}

/** The credentials for a registry host BuildKit asks about, matched as the docker CLI's auth provider does. */
export function credentialsFor(auths: Record<string, RegistryAuth>, host: string): { username: string; secret: string } {
  const key = HUB_HOSTS.has(host) ? HUB_KEY : host;
  const bare = (server: string) => server.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
  const auth = auths[key] ?? Object.values(auths).find((candidate) => bare(candidate.serveraddress) === bare(key));
  return auth ? secretOf(auth) : { username: '', secret: '' };
}

/** What the session answers for one registry's credentials. */
export function secretOf(auth: RegistryAuth): { username: string; secret: string } {
  return auth.identitytoken ? { username: '', secret: auth.identitytoken } : { username: auth.username ?? '', secret: auth.password ?? '' };
}

/**
 * BuildKit asks the client for registry credentials over a session (`POST /session`, upgraded to h2c,
 * gRPC inside); X-Registry-Config is for the legacy builder only. This serves the one method BuildKit
 * needs for a pull, Auth/Credentials, from the credentials the docker CLI would use. gRPC is loaded here
 * on first use: only BuildKit builds with credentials need it.
 */
export async function openAuthSession(docker: Docker, lookup: (host: string) => Promise<RegistryAuth | undefined>): Promise<BuildSession> {
  const [grpc, { Reader, Writer }] = await Promise.all([import('@grpc/grpc-js'), import('protobufjs/minimal')]);
  const id = randomUUID();
  const socket = await new Promise<Duplex>((resolve, reject) =>
    docker.modem.dial(
      {
        method: 'POST',
        path: '/session',
        hijack: true,
        headers: {
          Upgrade: 'h2c',
          'X-Docker-Expose-Session-Uuid': id,
          'X-Docker-Expose-Session-Name': 'dockerception',
          'X-Docker-Expose-Session-Grpc-Method': CREDENTIALS,
        },
        statusCodes: { 101: true, 200: true, 500: 'server error' },
      },
      (error: unknown, stream: unknown) => (error ? reject(error) : resolve(stream as Duplex)),
    ),
  );
  // CredentialsRequest { string Host = 1 } and CredentialsResponse { string Username = 1; string Secret = 2 }.
  const decodeHost = (bytes: Buffer): string => {
    const reader = Reader.create(bytes);
    let host = '';
    while (reader.pos < reader.len) {
      const tag = reader.uint32();
      if (tag >>> 3 === 1) host = reader.string();
      else reader.skipType(tag & 7);
    }
    return host;
  };
  const encodeCredentials = (value: { username: string; secret: string }): Buffer => {
    const writer = Writer.create();
    if (value.username) writer.uint32(10).string(value.username);
    if (value.secret) writer.uint32(18).string(value.secret);
    return Buffer.from(writer.finish());
  };
  const server = new grpc.Server();
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  server.addService(
    {
      Credentials: {
        path: CREDENTIALS,
        requestStream: false,
        responseStream: false,
        requestSerialize: (host: string) => Buffer.from(host),
        requestDeserialize: decodeHost,
        responseSerialize: encodeCredentials,
        responseDeserialize: () => ({ username: '', secret: '' }),
      },
    },
    {
      // Asked when BuildKit pulls from a registry, once per host: only then is its helper asked.
      Credentials: (call: { request: string }, callback: (error: null, value: { username: string; secret: string }) => void) => {
        lookup(call.request).then(
          (auth) => callback(null, auth ? secretOf(auth) : { username: '', secret: '' }),
          () => callback(null, { username: '', secret: '' }),
        );
      },
    },
  );
  injector.injectConnection(socket);
  socket.on('error', () => undefined); // the engine closes it when the build ends
  return {
    id,
    close() {
      server.forceShutdown();
      socket.destroy();
    },
  };
}
