// The docker CLI as the UI tests use it beside the extension: to see what the engine holds, as a person would.
import { execFileSync } from 'node:child_process';

/** `docker ARGS…`'s stdout; throws (with its stderr) when it fails. */
export function docker(...args: string[]): string {
  return execFileSync('docker', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The id of the image REF names, or undefined when the engine has none. */
export function imageId(ref: string): string | undefined {
  try {
    return docker('image', 'inspect', '-f', '{{.Id}}', ref).trim();
  } catch {
    return undefined;
  }
}
