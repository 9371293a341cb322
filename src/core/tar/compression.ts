// Compressed build contexts: the engine sniffs the first bytes of a context for gzip, bzip2 and xz
// (pkg/archive DetectCompression) and decompresses before reading the tar. The gate does the same for
// gzip, so that it checks the tar itself and hands the engine a plain one.
import { createGunzip, type Gunzip } from 'node:zlib';

export type Compression = 'gzip' | 'bzip2' | 'xz' | 'zstd';

/** Bytes needed to tell every format apart. */
export const SNIFF_BYTES = 6;

const MAGIC: Array<[Compression, number[]]> = [
  ['gzip', [0x1f, 0x8b, 0x08]],
  ['bzip2', [0x42, 0x5a, 0x68]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];

/** The compression the first bytes announce, or undefined for a plain tar (or anything else). */
export function sniffCompression(head: Buffer): Compression | undefined {
  for (const [format, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((byte, i) => head[i] === byte)) return format;
  }
  return undefined;
}

/** A streaming decompressor for the formats we read, or undefined for those we do not. */
export function decompressorFor(format: Compression): Gunzip | undefined {
  return format === 'gzip' ? createGunzip({ chunkSize: 64 * 1024 }) : undefined;
}

/** What to tell a user whose builder writes a format we do not read. */
export function unsupportedCompressionAdvice(format: Compression): string {
  return (
    `The builder's stdout is a ${format}-compressed tar. Dockerception reads plain and gzip-compressed tars only: ` +
    `write a plain tar ('tar -cf - .') or pipe it through gzip ('tar -cf - . | gzip').`
  );
}
