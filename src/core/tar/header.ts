// One 512-byte tar header block, decoded by the rules of Go's archive/tar — the reader the engine runs
// on a build context — rather than tar-stream's, which skips zero blocks, refuses v7 archives and does
// not export a synchronous decoder. Pure functions; no streams.

export const BLOCK = 512;

export type TarFormat = 'v7' | 'ustar' | 'gnu' | 'star';

/** A header's own fields, before PAX records or GNU long names are applied. */
export interface RawHeader {
  format: TarFormat;
  name: string;
  linkname: string;
  /** The typeflag byte as a character ('\0' for v7 regular files). */
  typeflag: string;
  /** The size field: for data-carrying types, how many data bytes follow (before padding). */
  size: number;
  mode: number;
  /** Old GNU sparse headers: more sparse-map blocks follow this one before the data. */
  gnuSparseExtended: boolean;
}

export class TarHeaderError extends Error {
  override readonly name = 'TarHeaderError';
}

/** Whether the block holds nothing but zero bytes. */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Text up to the first NUL, as Go's parseString. */
function text(block: Buffer, start: number, length: number): string {
  const end = block.indexOf(0, start);
  return block.toString('utf8', start, end < 0 || end > start + length ? start + length : end);
}

/** An octal field (spaces and NULs trimmed) or a base-256 one (high bit set), as Go's parseNumeric. */
export function numeric(block: Buffer, start: number, length: number): number {
  if (block[start] & 0x80) {
    // Base-256: the first byte's top bit marks it, the next bit is the sign.
    if (block[start] & 0x40) throw new TarHeaderError('negative base-256 number');
    let value = block[start] & 0x3f;
    for (let i = start + 1; i < start + length; i++) value = value * 256 + block[i];
    if (!Number.isSafeInteger(value)) throw new TarHeaderError('number too large');
    return value;
  }
  const field = block.toString('latin1', start, start + length).replace(/^[ \0]+|[ \0]+$/g, '');
  if (field === '') return 0;
  if (!/^[0-7]+$/.test(field)) throw new TarHeaderError(`invalid octal field '${field}'`);
  return parseInt(field, 8);
}

/** Go accepts the checksum computed over unsigned or signed bytes, the checksum field read as spaces. */
function checksumMatches(block: Buffer): boolean {
  let stored: number;
  try {
    stored = numeric(block, 148, 8);
  } catch {
    return false;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte < 128 ? byte : byte - 256;
  }
  return stored === unsigned || stored === signed;
}

function formatOf(block: Buffer): TarFormat {
  const magic = block.toString('latin1', 257, 263);
  const version = block.toString('latin1', 263, 265);
  if (magic === 'ustar\0' && version === '00') return block.toString('latin1', 508, 512) === 'tar\0' ? 'star' : 'ustar';
  if (magic === 'ustar ' && version === ' \0') return 'gnu';
  return 'v7';
}

/** Decodes a non-zero header block; throws TarHeaderError where Go's reader returns ErrHeader. */
export function decodeHeader(block: Buffer): RawHeader {
  if (!checksumMatches(block)) throw new TarHeaderError('checksum mismatch');
  const format = formatOf(block);
  let name = text(block, 0, 100);
  if (format === 'ustar' || format === 'star') {
    const prefix = text(block, 345, format === 'star' ? 131 : 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  const typeflag = String.fromCharCode(block[156]);
  return {
    format,
    name,
    linkname: text(block, 157, 100),
    typeflag,
    size: numeric(block, 124, 12),
    mode: numeric(block, 100, 8),
    gnuSparseExtended: format === 'gnu' && typeflag === 'S' && block[482] !== 0,
  };
}

/** Whether an old GNU sparse extension block says yet another follows it. */
export function sparseExtensionContinues(block: Buffer): boolean {
  return block[504] !== 0;
}

/** PAX extended header records ("%d %s=%s\n"), as Go's parsePAX. */
export function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space < 0) throw new TarHeaderError('malformed PAX record');
    const length = Number(data.toString('latin1', at, space));
    if (!Number.isInteger(length) || length <= space - at + 1 || at + length > data.length || data[at + length - 1] !== 0x0a) {
      throw new TarHeaderError('malformed PAX record');
    }
    const record = data.toString('utf8', space + 1, at + length - 1);
    const eq = record.indexOf('=');
    if (eq <= 0) throw new TarHeaderError('malformed PAX record');
    records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/** Types that never carry data, whatever their size field says (Go's isHeaderOnlyType). */
export function isHeaderOnly(typeflag: string): boolean {
  return '123456'.includes(typeflag);
}

export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
