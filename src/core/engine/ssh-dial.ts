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

/** Why a word cannot go to a POSIX shell: a NUL, or a character that is not printable (POSIX sh has no
 * escape sequences for them). Undefined when it can. */
export function unquotable(word: string): string | undefined {
  for (const char of word) {
    if (char === '\0') return 'a NUL byte';
    // Go's unicode.IsPrint, which the docker CLI's quoting uses: letters, marks, numbers, punctuation,
    // symbols and the ASCII space. U+FFFD is what invalid UTF-8 decodes to.
    if (char === '\uFFFD' || !/^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u.test(char)) {
      return `the character U+${char.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}, which a POSIX shell cannot quote`;
    }
  }
  return undefined;
}

/** Characters that make a word shell syntax: tokens, blanks, escapes, comments, braces, tilde, globs and
 * assignments (the docker CLI's list, from its POSIX quoting). */
const SHELL_CHARS = /[;"'()$|&><` \\#{~*?[=]/;
const KEYWORDS = new Set([
  '!',
  '{',
  '}',
  '[[',
  ']]',
  'case',
  'do',
  'done',
  'elif',
  'else',
  'esac',
  'fi',
  'for',
  'function',
  'if',
  'in',
  'select',
  'then',
  'time',
  'until',
  'while',
]);

/**
 * One word quoted for a POSIX shell, as the docker CLI quotes the remote command it gives ssh: unchanged
 * when nothing in it is shell syntax, else in single quotes, else (it holds a single quote) in double
 * quotes with " \ ` $ escaped. Throws for what cannot be quoted (see unquotable).
 */
export function quoteForShell(word: string): string {
  const why = unquotable(word);
  if (why) throw new Error(`it holds ${why}`);
  if (word === '') return "''";
  if (!SHELL_CHARS.test(word) && !KEYWORDS.has(word)) return word;
  if (!word.includes("'")) return `'${word}'`;
  return `"${word.replace(/["\\`$]/g, (c) => `\\${c}`)}"`;
}

/** The command the remote shell runs: `docker [--host=unix://SOCKET] system dial-stdio`, each word quoted. */
export function remoteCommand(target: SshTarget): string {
  const socket = target.socket && target.socket.replace(/^\/+|\/+$/g, '') !== '' ? target.socket : undefined;
  return ['docker', ...(socket ? [`--host=unix://${socket}`] : []), 'system', 'dial-stdio'].map(quoteForShell).join(' ');
}

/**
 * The ssh command line the docker CLI runs for an ssh:// engine, plus BatchMode: nobody can answer a
 * prompt here, and a prompt would hang the build. Host keys, ~/.ssh/config and the agent are ssh's own.
 * ssh joins everything after the host into one line for the remote user's shell, so the remote command
 * is one argument, quoted word by word.
 */
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
    remoteCommand(target),
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

/** At most this many ssh processes carry requests at once (the rest queue in the agent): a handful, well
 * under sshd's MaxStartups (10 by default), which refuses logins past it. Connections taken over for a
 * stream (attach, a BuildKit session) leave the pool and are counted apart, one per stream. */
export const SSH_MAX_CONNECTIONS = 4;
/** An idle ssh connection is closed after this long: a kept one is a process and a login on the remote host. */
export const SSH_IDLE_MS = 30_000;

/**
 * An http.Agent whose connections are ssh processes: at most SSH_MAX_CONNECTIONS carry requests (more
 * requests wait for one), idle ones are kept for the next request and closed after SSH_IDLE_MS, and
 * destroy() ends every ssh process it started, including those taken over for streams.
 */
export class SshDialAgent extends http.Agent {
  private readonly live = new Set<SshStdioSocket>();
  private readonly idle = new Map<SshStdioSocket, NodeJS.Timeout>();
  private closed = false;

  constructor(
    readonly target: SshTarget,
    private readonly command = 'ssh',
    readonly idleMs = SSH_IDLE_MS,
    maxSockets = SSH_MAX_CONNECTIONS,
  ) {
    super({ keepAlive: true, maxSockets, maxTotalSockets: maxSockets, maxFreeSockets: maxSockets });
    // Runs after http.Agent's own 'free' handler has put the socket among the free ones.
    this.on('free', (socket: SshStdioSocket) => this.armIdle(socket));
  }

  /** How many ssh processes this agent has running now. */
  get processes(): number {
    return this.live.size;
  }

  override createConnection(): Duplex {
    const socket = SshStdioSocket.open(this.target, this.command);
    if (this.closed) {
      socket.destroy(Object.assign(new Error('this engine connection was closed (the client was dropped); connect again'), { code: 'ESSH' }));
      return socket;
    }
    this.live.add(socket);
    socket.once('close', () => {
      this.live.delete(socket);
      this.disarmIdle(socket);
    });
    return socket;
  }

  override reuseSocket(socket: Duplex, request: http.ClientRequest): void {
    this.disarmIdle(socket as unknown as SshStdioSocket);
    super.reuseSocket(socket, request);
  }

  /** Ends every ssh process: the free ones, those carrying requests and those taken over for streams. */
  override destroy(): void {
    this.closed = true;
    super.destroy();
    for (const socket of this.live) socket.destroy();
    this.live.clear();
    for (const timer of this.idle.values()) clearTimeout(timer);
    this.idle.clear();
  }

  private armIdle(socket: SshStdioSocket): void {
    this.disarmIdle(socket);
    const timer = setTimeout(() => {
      this.idle.delete(socket);
      socket.destroy(); // http.Agent drops it from its free list on 'close'
    }, this.idleMs);
    timer.unref();
    this.idle.set(socket, timer);
  }

  private disarmIdle(socket: SshStdioSocket): void {
    const timer = this.idle.get(socket);
    if (timer) clearTimeout(timer);
    this.idle.delete(socket);
  }
}
