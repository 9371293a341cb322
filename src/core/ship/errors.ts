/**
 * What a push, a tag template or a registry read can fail with. Kept here until the lead adds these codes
 * to DockerceptionError's ErrorCode (and a 'push' Phase): the CLI maps them to exit 1, CANCELLED to 130.
 */
export type ShipErrorCode =
  /** The registry refused the credentials (or there were none): log in. */
  | 'PUSH_AUTH'
  /** TLS could not be set up with the registry: certificate or insecure-registry setup. */
  | 'PUSH_TLS'
  /** The registry refused the name (invalid name, denied repository). */
  | 'PUSH_REFUSED'
  /** The registry could not be reached at all. */
  | 'REGISTRY_UNREACHABLE'
  /** Anything else the engine or registry answered. */
  | 'PUSH_FAILED'
  /** The image to push is not in the engine. */
  | 'NO_IMAGE'
  /** No tag names a registry (a plain 'app:1' is Docker Hub's library/, where nobody can push). */
  | 'NO_REGISTRY'
  /** A tag template that cannot be expanded. */
  | 'BAD_TAG'
  | 'CANCELLED';

export class ShipError extends Error {
  override readonly name = 'ShipError';
  constructor(
    readonly code: ShipErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  toJSON(): { code: ShipErrorCode; message: string; phase: 'push' } {
    return { code: this.code, message: this.message, phase: 'push' };
  }
}

export function isShipError(value: unknown): value is ShipError {
  return value instanceof ShipError;
}
