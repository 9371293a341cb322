import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import type * as net from 'node:net';
import { Duplex } from 'node:stream';

/** Where an ssh:// engine is: what `ssh` gets, as the docker CLI passes it. */
export interface SshTarget {
  host: string;
  user?: string;
  port?: string;
  /** The engine's socket on the remote machine, when the URL names one (ssh://host/run/docker.sock). */
  socket?: string;
}

/** The ssh command line the docker CLI runs for an ssh:// engine, plus BatchMode: nobody can answer a
 * prompt here, and a prompt would hang the build. Host keys, ~/.ssh/config and the agent are ssh's own. */
export function sshArguments(target: SshTarget): string[] {
  return [
    '-o',
    'ConnectTimeout=30',
    '-o',
    'BatchMode=yes',
    '-T',
    ...(target.user ? ['-l', target.user] : []),
    ...(target.port ? ['-p', target.port] : []),
    '--',
    target.host,
    'docker',
    ...(target.socket ? ['--host', `unix://${target.socket}`] : []),
    'system',
    'dial-stdio',
  ];
}

const STDERR_KEPT = 4096;

/**
 * One HTTP connection to the engine: the stdin/stdout of `ssh host docker system dial-stdio`. It ends
 * when ssh exits; a failed ssh becomes an error carrying what ssh wrote on stderr.
 */
export class SshStdioSocket extends Duplex {
  private stderr = '';

  constructor(
    private readonly child: ChildProcess,
    private readonly target: SshTarget,
  ) {
    super();
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!this.push(chunk)) child.stdout!.pause();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_KEPT);
    });
    child.stdin!.on('error', () => {}); // ssh gone: its exit reports why
    child.on('error', (error: NodeJS.ErrnoException) => this.destroy(spawnError(error)));
    // 'close' comes after stdout ended and ssh exited, so a failure is reported with ssh's words, not
    // as the bare end of the stream.
    child.on('close', (code, signal) => {
      if (code === 0) this.push(null);
      else if (!this.destroyed) this.destroy(this.exitError(code, signal));
    });
  }

  static open(target: SshTarget, command = 'ssh'): SshStdioSocket {
    const child = spawn(command, sshArguments(target), { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    return new SshStdioSocket(child, target);
  }

  override _read(): void {
    this.child.stdout!.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.child.stdin!.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.child.stdin!.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
    callback(error);
  }

  // What http.Agent and ClientRequest call on a net.Socket. The agent unrefs an idle kept-alive socket, so
  // that a kept ssh process does not keep the CLI running; a pipe has no keep-alive or delay to set.
  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  ref(): this {
    this.child.ref();
    for (const pipe of this.pipes()) pipe.ref();
    return this;
  }
  unref(): this {
    this.child.unref();
    for (const pipe of this.pipes()) pipe.unref();
    return this;
  }

  private pipes(): net.Socket[] {
    return [this.child.stdin, this.child.stdout, this.child.stderr].filter(
      (pipe): pipe is net.Socket => typeof (pipe as net.Socket | null)?.unref === 'function',
    );
  }

  private exitError(code: number | null, signal: NodeJS.Signals | null): Error {
    const said = this.stderr.trim().split('\n').slice(-3).join(' ').trim();
    const how = code === null ? `was stopped by ${signal}` : `exited with status ${code}`;
    return Object.assign(new Error(`ssh to ${this.target.host} ${how}${said ? `: ${said}` : ' and said nothing'}`), { code: 'ESSH', sshStatus: code });
  }
}

function spawnError(error: NodeJS.ErrnoException): Error {
  if (error.code === 'ENOENT') {
    return Object.assign(new Error(`there is no 'ssh' command on PATH (${error.message})`), { code: 'ESSH' });
  }
  return Object.assign(new Error(`ssh could not be started: ${error.message}`), { code: 'ESSH' });
}

/** An http.Agent whose connections are ssh processes; idle ones are kept for the next request. */
export class SshDialAgent extends http.Agent {
  constructor(
    readonly target: SshTarget,
    private readonly command = 'ssh',
  ) {
    super({ keepAlive: true, maxFreeSockets: 4 });
  }

  override createConnection(): Duplex {
    return SshStdioSocket.open(this.target, this.command);
  }
}
