import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mustRun, startLogged, waitFor, portIsFree, type Started } from './process';

/**
 * Debian's sshd on 127.0.0.1 with its own host key, and a client side as a user would have it: a key
 * pair, a known_hosts holding the server's key, and an ssh config with a Host alias. ssh reads the real
 * user's ~/.ssh (from the password database, not $HOME), so the tests put an `ssh` first on PATH that
 * adds `-F` with this config; the program under test still runs plain `ssh`, as the docker CLI does.
 */
export class SshServer {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'dc-sshd-'));
  readonly binDir = path.join(this.dir, 'bin');
  readonly alias = 'dc-build-box';
  private process: Started | undefined;

  constructor(readonly port: number) {}

  private file(name: string): string {
    return path.join(this.dir, name);
  }

  /** PATH with the ssh that reads this config first. */
  get path(): string {
    return `${this.binDir}:${process.env.PATH}`;
  }

  get user(): string {
    return os.userInfo().username;
  }

  async start(): Promise<void> {
    mkdirSync(this.binDir, { recursive: true });
    mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege separation folder
    this.newHostKey();
    mustRun('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'dockerception-test', '-f', this.file('client_key')]);
    writeFileSync(this.file('authorized_keys'), readFileSync(this.file('client_key.pub')));
    chmodSync(this.file('authorized_keys'), 0o600);
    writeFileSync(
      this.file('sshd_config'),
      [
        `Port ${this.port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${this.file('host_key')}`,
        `AuthorizedKeysFile ${this.file('authorized_keys')}`,
        `PidFile ${this.file('sshd.pid')}`,
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'UsePAM no',
        'StrictModes no',
        '',
      ].join('\n'),
    );
    writeFileSync(
      this.file('ssh_config'),
      [
        `Host ${this.alias}`,
        '  HostName 127.0.0.1',
        `  Port ${this.port}`,
        `  User ${this.user}`,
        'Host *',
        `  IdentityFile ${this.file('client_key')}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${this.file('known_hosts')}`,
        '  StrictHostKeyChecking yes',
        '',
      ].join('\n'),
    );
    writeFileSync(path.join(this.binDir, 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F '${this.file('ssh_config')}' "$@"\n`, { mode: 0o755 });
    this.trustHostKey();
    await this.launch();
  }

  private async launch(): Promise<void> {
    // -D: stay in the foreground, so the test owns the process; -e: log to stderr (the log file).
    this.process = startLogged('sshd', '/usr/sbin/sshd', ['-D', '-e', '-f', this.file('sshd_config')]);
    await waitFor('sshd', async () => !(await portIsFree(this.port)), this.process);
  }

  private newHostKey(): void {
    rmSync(this.file('host_key'), { force: true });
    rmSync(this.file('host_key.pub'), { force: true });
    mustRun('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', this.file('host_key')]);
  }

  /** known_hosts as `ssh` would have written it after the user accepted the key. */
  trustHostKey(): void {
    const key = readFileSync(this.file('host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
    writeFileSync(this.file('known_hosts'), `[127.0.0.1]:${this.port} ${key}\n`);
  }

  /** The server gets a new host key (a reinstall, or a man in the middle); known_hosts keeps the old one. */
  async changeHostKey(): Promise<void> {
    await this.process?.stop();
    this.newHostKey();
    await this.launch();
  }

  async remove(): Promise<void> {
    await this.process?.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
