import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Certs } from './certs';
import { mustRun, run, startLogged, unmountUnder, waitFor, copyImages, pingsOn, type Started } from './process';

/**
 * A dockerd of the tests' own, beside whatever engine the machine runs: its own data root, exec root,
 * pid file and unix socket, its own bridge and no iptables rules, and optionally a tcp listener on
 * 127.0.0.1, plain or TLS. Only this engine is ever stopped or killed.
 *
 * Not `--bridge=none`: a dockerd started with it deletes the host's `docker0` (moby's
 * removeDefaultBridgeInterface), which breaks the machine's engine. The bridge is made here (dockerd
 * only adopts a named bridge that exists) and deleted with the engine.
 */
export class PrivateEngine {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'dc-engine-'));
  readonly socket = path.join(this.dir, 'docker.sock');
  /** Interface names are at most 15 characters. */
  readonly bridge = `dc-br-${path.basename(this.dir).slice(-6).toLowerCase()}`;
  private process: Started | undefined;

  constructor(
    readonly name: string,
    private readonly tcp?: { port: number; certs?: Certs },
  ) {}

  get url(): string {
    return `unix://${this.socket}`;
  }

  get tcpUrl(): string {
    if (!this.tcp) throw new Error(`${this.name} has no tcp listener`);
    return `tcp://127.0.0.1:${this.tcp.port}`;
  }

  get pid(): number | undefined {
    return this.process?.child.pid;
  }

  private args(): string[] {
    const args = [
      `--data-root=${path.join(this.dir, 'root')}`,
      `--exec-root=${path.join(this.dir, 'exec')}`,
      `--pidfile=${path.join(this.dir, 'dockerd.pid')}`,
      `--host=${this.url}`,
      `--bridge=${this.bridge}`,
      '--iptables=false',
      '--ip-masq=false',
      '--ip6tables=false',
    ];
    if (this.tcp) args.push(`--host=tcp://127.0.0.1:${this.tcp.port}`);
    const certs = this.tcp?.certs?.server;
    if (certs) args.push('--tlsverify', `--tlscacert=${certs.ca}`, `--tlscert=${certs.cert}`, `--tlskey=${certs.key}`);
    return args;
  }

  /** Starts dockerd and waits until it answers /_ping on its socket. */
  async start(): Promise<void> {
    if (run('ip', ['link', 'show', this.bridge]).status !== 0) {
      mustRun('ip', ['link', 'add', this.bridge, 'type', 'bridge']);
      mustRun('ip', ['link', 'set', this.bridge, 'up']);
    }
    this.process = startLogged(`dockerd-${this.name}`, 'dockerd', this.args());
    await waitFor(`dockerd ${this.name}`, () => pingsOn(this.socket), this.process);
  }

  /** `docker` pointed at this engine. */
  docker(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    return run('docker', ['-H', this.url, ...args]);
  }

  /** Copies images from the machine's engine (docker save | docker load), as a registry pull would. */
  loadFrom(images: string[]): void {
    copyImages(images, this.url, this.dir);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.process?.stop(signal);
    this.process = undefined;
  }

  /** A restart; with SIGKILL, a crash. dockerd's containerd dies with it, but where nothing reaps
   * orphans it stays a zombie, and a new dockerd that finds its pid file waits for it in vain. */
  async restart(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stop(signal);
    if (signal === 'SIGKILL') {
      run('pkill', ['-KILL', '-f', '--', `--config ${this.dir}/exec/containerd/`]);
      rmSync(path.join(this.dir, 'exec', 'containerd', 'containerd.pid'), { force: true });
    }
    await this.start();
  }

  /** Stops it and removes everything it wrote (a killed dockerd can leave mounts: they go first). */
  async remove(): Promise<void> {
    await this.stop();
    // A killed dockerd leaves its containerd running; it carries this folder in its command line.
    run('pkill', ['-KILL', '-f', '--', `${this.dir}/`]);
    unmountUnder(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
    run('ip', ['link', 'delete', this.bridge]);
  }
}
