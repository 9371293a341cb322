// What the user is told about the builder's output: the builder's exit status first (a tar cut off
// because the builder failed is the builder's failure), then what is wrong with the tar, if anything.
import { DockerceptionError } from '../errors';
import { BLOCK } from './header';
import { unsupportedCompressionAdvice, type Compression } from './compression';
import type { TarProblem } from './reader';

/** Problems found before or around the tar itself: its compression. */
export type OutputProblem =
  TarProblem | { kind: 'unsupported-compression'; format: Compression } | { kind: 'bad-compression'; format: Compression; detail: string };

export interface OutputFacts {
  /** Bytes of tar read (after decompression), and how many entries they held. */
  bytes: number;
  entries: number;
  /** The first bytes the builder wrote, to show when they are not a tar. */
  head: Buffer;
  /** Whether `bytes` is a floor: the builder was still writing when the verdict was made, or what it
   * wrote after the problem was compressed and not decoded. */
  stillWriting: boolean;
}

/** The error for a builder run: its exit status outranks what its output looks like. */
export function builderOutputVerdict(
  exitError: DockerceptionError | undefined,
  problem: OutputProblem | undefined,
  facts: OutputFacts,
): DockerceptionError | undefined {
  if (exitError) return exitError;
  return problem && outputError(problem, facts);
}

export function outputError(problem: OutputProblem, facts: OutputFacts): DockerceptionError {
  const fail = (code: 'NOT_A_TAR' | 'TRUNCATED_TAR' | 'TRAILING_DATA' | 'UNSAFE_PATH', message: string) => new DockerceptionError(code, message, 'builder-run');
  switch (problem.kind) {
    case 'empty':
      return notATar('The builder wrote nothing to stdout.');
    case 'empty-archive':
      return notATar('It is an empty archive: only zero bytes, no entries, so the builder archived nothing (is the folder it archives empty?).');
    case 'not-a-tar':
      return notATar(`Its first bytes are ${showBytes(facts.head)}: ${problem.detail}.`);
    case 'bad-header':
      return notATar(`After ${facts.entries} good entries, the header at byte ${problem.offset} is invalid (${problem.detail}).`);
    case 'unsupported-compression':
      return notATar(unsupportedCompressionAdvice(problem.format));
    case 'bad-compression':
      return fail(
        /unexpected end/i.test(problem.detail) ? 'TRUNCATED_TAR' : 'NOT_A_TAR',
        `The builder's stdout is ${problem.format}-compressed but does not decompress (${problem.detail}). ` +
          `The builder probably died or its output was cut off; see its stderr above.`,
      );
    case 'cut-mid-entry':
      return fail(
        'TRUNCATED_TAR',
        `The builder's tar stops in the middle of an entry after ${problem.offset} bytes (${facts.entries} entries read). ` +
          `The builder probably died or its tar command was cut off; see its stderr above.`,
      );
    case 'no-end-marker':
      return fail(
        'TRUNCATED_TAR',
        `The builder's tar has no end-of-archive marker (${facts.entries} entries, ${problem.offset} bytes): it was cut off, ` +
          `so files may be missing. Let the builder's tar command finish (don't kill it or pipe it through 'head').`,
      );
    case 'trailing-data': {
      const after = facts.bytes - problem.endOfArchive - 2 * BLOCK;
      return fail(
        'TRAILING_DATA',
        `The builder wrote ${facts.stillWriting ? 'at least ' : ''}${Math.max(after, 1)} bytes after the end of its tar (at byte ${problem.endOfArchive}), ` +
          `and not only zero padding (the first non-zero byte is at ${problem.firstByte}). Logs and progress belong on stderr; stdout must carry the tar alone.`,
      );
    }
    case 'refused-entry':
      return fail(
        'UNSAFE_PATH',
        `The builder's tar has an entry that would escape the build context: ${problem.reason}. ` +
          `Write entries relative to the folder you archive (e.g. 'tar -C /out -cf - .') and keep links inside it.`,
      );
  }
}

function notATar(detail: string): DockerceptionError {
  return new DockerceptionError(
    'NOT_A_TAR',
    `The builder's stdout is not a tar archive. ${detail} ` +
      `The builder's CMD must write a tar of the runtime context to stdout (e.g. 'tar -cf - .') and its logs to stderr.`,
    'builder-run',
  );
}

/** Up to 24 bytes as a quoted string, non-printable bytes escaped: `"Build OK\n"`. */
export function showBytes(head: Buffer): string {
  const shown = head.subarray(0, 24);
  let out = '';
  for (const byte of shown) {
    if (byte === 0x0a) out += '\\n';
    else if (byte === 0x09) out += '\\t';
    else if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return `"${out}"${head.length > shown.length ? '…' : ''}`;
}
