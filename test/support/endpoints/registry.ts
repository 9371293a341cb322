import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RegistryCerts } from './certs';
import { LOG_DIR, freePort, mustRun, portIsFree, startLogged, waitFor, type Started } from './process';

/** Whether something accepts connections on ip:port. */
function accepts(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, ip, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** How a PrivateRegistry serves: basic auth (the default) or none, plain HTTP (the default) or TLS. */
export interface RegistryOptions {
  /** false: no auth at all (anyone may push and pull). Default true: htpasswd. */
  auth?: boolean;
  /** Serve over TLS with this certificate (see makeRegistryCerts). */
  tls?: RegistryCerts;
  /** The address to listen on (default 127.0.0.1, which the engine treats as insecure-allowed). */
  ip?: string;
}

/**
 * Debian's docker-registry (distribution) on 127.0.0.1 with basic auth from an htpasswd file (bcrypt, as
 * the registry requires). The engine treats 127.0.0.0/8 registries as insecure by default, so plain
 * HTTP is enough.
 */
export class PrivateRegistry {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'dc-registry-'));
  private process: Started | undefined;

  constructor(
    /** Replaced by another free port when the one given is taken before the registry binds it (see start). */
    public port: number,
    readonly user = 'dc-tester',
    readonly password = 'right-password',
    readonly options: RegistryOptions = {},
  ) {}

  get host(): string {
    return `${this.options.ip ?? '127.0.0.1'}:${this.port}`;
  }

  /** The registry API's base URL (https:// with tls). */
  get url(): string {
    return `${this.options.tls ? 'https' : 'http'}://${this.host}`;
  }

  /**
   * Starts the registry and waits until it listens. A port from freePort() can be taken by another process
   * (any outgoing connection's ephemeral port) before the registry binds it: the registry then exits with
   * "address already in use", and it is started again on another free port, up to three times.
   */
  async start(): Promise<void> {
    writeFileSync(path.join(this.dir, 'htpasswd'), mustRun('htpasswd', ['-Bbn', this.user, this.password]));
    for (let attempt = 1; ; attempt++) {
      this.writeConfig();
      const logStart = existsSync(path.join(LOG_DIR, 'docker-registry.log')) ? statSync(path.join(LOG_DIR, 'docker-registry.log')).size : 0;
      this.process = startLogged('docker-registry', 'docker-registry', ['serve', path.join(this.dir, 'config.yml')]);
      const started = this.process;
      const ip = this.options.ip;
      try {
        await waitFor('docker-registry', async () => (ip ? accepts(ip, this.port) : !(await portIsFree(this.port))), started);
        // A port another process holds also "listens": the registry's own failure to bind ends it at once.
        await new Promise((resolve) => setTimeout(resolve, 300));
        if (started.child.exitCode === null) return;
        throw new Error(`docker-registry exited (${started.child.exitCode}) right after ${this.host} was seen listening; see ${started.log}`);
      } catch (error) {
        const said = readFileSync(started.log, 'utf8').slice(logStart);
        if (attempt >= 3 || !/address already in use/.test(said)) throw error;
        this.port = await freePort();
      }
    }
  }

  private writeConfig(): void {
    writeFileSync(
      path.join(this.dir, 'config.yml'),
      [
        'version: 0.1',
        'log:',
        '  level: info',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${path.join(this.dir, 'data')}`,
        'http:',
        `  addr: ${this.host}`,
        ...(this.options.tls ? ['  tls:', `    certificate: ${this.options.tls.cert}`, `    key: ${this.options.tls.key}`] : []),
        ...(this.options.auth === false ? [] : ['auth:', '  htpasswd:', '    realm: dockerception-tests', `    path: ${path.join(this.dir, 'htpasswd')}`]),
        '',
      ].join('\n'),
    );
  }

  /** A docker config folder logged in to this registry by the docker CLI itself (`docker login`). */
  login(password = this.password): string {
    const config = mkdtempSync(path.join(this.dir, 'docker-config-'));
    writeFileSync(path.join(config, 'config.json'), '{}');
    if (password === this.password) {
      mustRun('docker', ['login', '-u', this.user, '--password-stdin', this.host], { env: { ...process.env, DOCKER_CONFIG: config }, input: password });
    } else {
      // docker login checks the password; a stale one is what a changed password leaves behind.
      const auth = Buffer.from(`${this.user}:${password}`).toString('base64');
      writeFileSync(path.join(config, 'config.json'), JSON.stringify({ auths: { [this.host]: { auth } } }));
    }
    return config;
  }

  /** Pushes a local image under this registry's name, then removes the local name: a build must pull. */
  push(local: string, remote: string): string {
    const ref = `${this.host}/${remote}`;
    const env = { ...process.env, DOCKER_CONFIG: this.login() };
    mustRun('docker', ['tag', local, ref]);
    mustRun('docker', ['push', ref], { env });
    mustRun('docker', ['rmi', ref]);
    return ref;
  }

  /** Manifest requests this registry answered with 200 so far (its access log): every request needs the
   * login, so each one is an authenticated pull (or the push in push()). */
  authenticatedPulls(): number {
    const log = readFileSync(this.process!.log, 'utf8').split('\n');
    return log.filter((line) => /"(GET|HEAD) \/v2\/[^ ]*\/manifests\/[^ ]* HTTP\/1\.1" 200 /.test(line)).length;
  }

  async remove(): Promise<void> {
    await this.process?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
