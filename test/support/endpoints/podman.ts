import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, run, startLogged, unmountUnder, waitFor, copyImages, pingsOn, type Started } from './process';

/** Podman's Docker-compatible API on a socket of its own, started by scripts/podman-service.sh (which
 * holds the configuration that lets its containers run on this kind of machine). */
export class PodmanService {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'dc-podman-'));
  readonly socket = path.join(this.dir, 'podman.sock');
  private process: Started | undefined;
  /** Podman's default network makes this bridge on the host when a container first uses it. */
  private readonly podmanBridge = 'cni-podman0';
  private bridgeBefore = true;

  get url(): string {
    return `unix://${this.socket}`;
  }

  async start(): Promise<void> {
    this.bridgeBefore = run('ip', ['link', 'show', this.podmanBridge]).status === 0;
    this.process = startLogged('podman', 'bash', [path.join(ROOT, 'scripts', 'podman-service.sh'), this.dir]);
    await waitFor('podman system service', () => pingsOn(this.socket), this.process);
  }

  /** Images from the machine's engine, as a registry pull would bring them. */
  loadFrom(images: string[]): void {
    copyImages(images, this.url, this.dir);
  }

  /** `docker` pointed at this Podman. */
  docker(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    return run('docker', ['-H', this.url, ...args]);
  }

  async remove(): Promise<void> {
    await this.process?.stop();
    // Podman's storage holds overlay mounts while it runs; what is left is unmounted before removal.
    run('podman', ['--root', path.join(this.dir, 'root'), '--runroot', path.join(this.dir, 'run'), 'system', 'reset', '--force'], {
      env: { ...process.env, CONTAINERS_CONF: path.join(this.dir, 'containers.conf') },
    });
    unmountUnder(this.dir);
    rmSync(this.dir, { recursive: true, force: true });
    if (!this.bridgeBefore) run('ip', ['link', 'delete', this.podmanBridge]);
  }
}
