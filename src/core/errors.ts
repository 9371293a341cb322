/** Every failure a user can meet carries one of these codes, the phase it happened in, and a message
 * that says what happened and what to do. The CLI maps codes to exit codes; the extension shows the
 * message as is. */
export type ErrorCode =
  | 'BUILDER_BUILD_FAILED'
  | 'BUILDER_START'
  | 'BUILDER_EXIT'
  | 'NOT_A_TAR'
  | 'TRUNCATED_TAR'
  | 'UNSAFE_PATH'
  | 'TRAILING_DATA'
  | 'RUNTIME_BUILD_FAILED'
  | 'TIMEOUT'
  | 'CANCELLED'
  | 'ENGINE_UNREACHABLE'
  | 'NO_PAIR'
  | 'SIZE_BUDGET'
  | 'SIZE_GROWTH'
  | 'DOCTOR';

export type Phase = 'connect' | 'discover' | 'builder-build' | 'builder-run' | 'runtime-build' | 'doctor' | 'tag' | 'inspect';

export class DockerceptionError extends Error {
  override readonly name = 'DockerceptionError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly phase: Phase,
    options?: { cause?: unknown; runtimeDockerfile?: string },
  ) {
    super(message, options);
    this.runtimeDockerfile = options?.runtimeDockerfile;
  }

  /** For a missing Dockerfile.run: one written for the tar the builder wrote (what a Quick Fix creates). */
  readonly runtimeDockerfile: string | undefined;

  toJSON(): { code: ErrorCode; message: string; phase: Phase } {
    return { code: this.code, message: this.message, phase: this.phase };
  }
}

export function isDockerceptionError(value: unknown): value is DockerceptionError {
  return value instanceof DockerceptionError;
}

/** Exit codes of the CLI: 0 ok, 1 build failed, 2 usage or no pair, 3 engine unreachable, 130 cancelled. */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'NO_PAIR':
      return 2;
    case 'ENGINE_UNREACHABLE':
      return 3;
    case 'CANCELLED':
      return 130;
    default:
      return 1;
  }
}

/** The message of anything thrown, for wrapping engine errors into our own. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Engine errors that mean the connection broke, not that the build failed. */
export function isConnectionError(error: unknown): boolean {
  const { code, syscall } = (error ?? {}) as { code?: string; syscall?: string };
  // ENOENT from connect() is a socket that is not there; from open() or stat() it is a local file.
  if (code === 'ENOENT') return syscall === 'connect';
  // ESSH: the ssh process carrying an ssh:// engine's connection exited (src/core/engine/ssh-dial.ts).
  return (
    ['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ETIMEDOUT', 'ESSH'].includes(code ?? '') ||
    /socket hang up|ECONNRESET|EPIPE|premature close/i.test(messageOf(error))
  );
}
