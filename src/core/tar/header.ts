// One 512-byte tar header block and the records around it, decoded by the rules of Go 1.19's archive/tar
// (reader.go, format.go, strconv.go) — the reader the engine runs on a build context — rather than
// tar-stream's, which skips zero blocks, refuses v7 archives and does not export a synchronous decoder.
// Pure functions; no streams. Strings here are Go strings: one char per byte ('latin1'), so that names are
// compared and joined byte for byte as Go does; the reader turns them into text only when it reports them.

export const BLOCK = 512;

export type TarFormat = 'v7' | 'ustar' | 'gnu' | 'star';

/** A header's own fields, before PAX records or GNU long names are applied. */
export interface RawHeader {
  format: TarFormat;
  /** Name (with the ustar/star prefix joined on where Go joins it), as bytes. */
  name: string;
  linkname: string;
  /** The typeflag byte as a character ('\0' for v7 regular files). */
  typeflag: string;
  /** The size field as Go's parseNumeric reads it (base-256 may be negative). */
  size: bigint;
  mode: number;
}

export class TarHeaderError extends Error {
  override readonly name = 'TarHeaderError';
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

/** Whether the block holds nothing but zero bytes. */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Bytes up to the first NUL, as Go's parser.parseString (one char per byte). */
export function cString(bytes: Buffer | string): string {
  const s = typeof bytes === 'string' ? bytes : bytes.toString('latin1');
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

function field(block: Buffer, start: number, length: number): string {
  return cString(block.toString('latin1', start, start + length));
}

/** Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits only, within int64. */
export function parseGoInt(s: string): bigint | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  const value = BigInt(s);
  return value > INT64_MAX || value < INT64_MIN ? undefined : value;
}

/** Go's parser.parseOctal: spaces and NULs trimmed from both ends, then up to a NUL, base 8 within uint64. */
function parseOctal(block: Buffer, start: number, length: number): bigint {
  const trimmed = block.toString('latin1', start, start + length).replace(/^[ \0]+|[ \0]+$/g, '');
  if (trimmed === '') return 0n;
  const digits = cString(trimmed);
  if (!/^[0-7]+$/.test(digits)) throw new TarHeaderError(`invalid octal field '${showField(digits)}'`);
  const value = BigInt(`0o${digits}`);
  if (value >= 1n << 64n) throw new TarHeaderError(`octal field '${digits}' overflows 64 bits`);
  return BigInt.asIntN(64, value); // Go's int64(uint64) conversion
}

/** An octal field or a base-256 one (first byte's top bit set, two's complement), as Go's parseNumeric. */
export function numeric(block: Buffer, start: number, length: number): bigint {
  if (length > 0 && block[start] & 0x80) {
    const inv = block[start] & 0x40 ? 0xff : 0;
    let x = 0n;
    for (let i = 0; i < length; i++) {
      let c = block[start + i] ^ inv;
      if (i === 0) c &= 0x7f;
      if (x >> 56n > 0n) throw new TarHeaderError('base-256 number overflows 64 bits');
      x = (x << 8n) | BigInt(c);
    }
    if (x >> 63n > 0n) throw new TarHeaderError('base-256 number overflows 64 bits');
    return inv ? -x - 1n : x;
  }
  return parseOctal(block, start, length);
}

function showField(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Go's block.getFormat: the checksum (an octal field, summed over unsigned or signed bytes), then the magic. */
export function formatOf(block: Buffer): TarFormat | undefined {
  let stored: bigint;
  try {
    stored = parseOctal(block, 148, 8);
  } catch {
    return undefined;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i];
    unsigned += byte;
    signed += byte < 128 ? byte : byte - 256;
  }
  if (stored !== BigInt(unsigned) && stored !== BigInt(signed)) return undefined;
  const magic = block.toString('latin1', 257, 263);
  const version = block.toString('latin1', 263, 265);
  // Any version goes with "ustar\0": Go checks the magic (and star's trailer) alone.
  if (magic === 'ustar\0' && block.toString('latin1', 508, 512) === 'tar\0') return 'star';
  if (magic === 'ustar\0') return 'ustar';
  if (magic === 'ustar ' && version === ' \0') return 'gnu';
  return 'v7';
}

/** Whether a string is ASCII with no NUL (Go's isASCII; a byte over 0x7f is never ASCII). */
function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) === 0 || s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** Decodes a non-zero header block; throws TarHeaderError where Go's readHeader returns ErrHeader. */
export function decodeHeader(block: Buffer): RawHeader {
  const format = formatOf(block);
  if (!format) throw new TarHeaderError('checksum mismatch');
  let name = field(block, 0, 100);
  const size = numeric(block, 124, 12);
  const mode = numeric(block, 100, 8);
  numeric(block, 108, 8); // uid, gid and mtime: Go refuses the header when they do not parse
  numeric(block, 116, 8);
  numeric(block, 136, 12);
  if (format !== 'v7') {
    numeric(block, 329, 8); // devmajor, devminor
    numeric(block, 337, 8);
    let prefix = '';
    if (format === 'ustar') {
      prefix = field(block, 345, 155);
    } else if (format === 'star') {
      prefix = field(block, 345, 131);
      numeric(block, 476, 12); // atime, ctime
      numeric(block, 488, 12);
    } else if (!gnuTimesParse(block)) {
      // A GNU header whose atime/ctime do not parse was written by Go before 1.8 with a ustar prefix there.
      const old = field(block, 345, 155);
      if (isAscii(old)) prefix = old;
    }
    if (prefix.length > 0) name = `${prefix}/${name}`;
  }
  return { format, name, linkname: field(block, 157, 100), typeflag: String.fromCharCode(block[156]), size, mode: Number(mode) };
}

function gnuTimesParse(block: Buffer): boolean {
  try {
    if (block[345] !== 0) numeric(block, 345, 12);
    if (block[357] !== 0) numeric(block, 357, 12);
    return true;
  } catch {
    return false;
  }
}

/** One region of data in a sparse file. */
export interface SparseEntry {
  offset: bigint;
  length: bigint;
}

/** The sparse map of an old GNU sparse ('S') header: its real size, its entries, and whether extension blocks follow. */
export function oldGnuSparse(block: Buffer): { realSize: bigint; entries: SparseEntry[]; extended: boolean } {
  if (formatOf(block) !== 'gnu') throw new TarHeaderError("a sparse ('S') entry whose header is not in GNU format");
  const realSize = numeric(block, 483, 12);
  const { entries, extended } = sparseArray(block, 386, 4);
  return { realSize, entries, extended };
}

/** An old GNU sparse extension block: 21 more entries and whether yet another block follows. */
export function sparseExtension(block: Buffer): { entries: SparseEntry[]; extended: boolean } {
  return sparseArray(block, 0, 21);
}

function sparseArray(block: Buffer, start: number, count: number): { entries: SparseEntry[]; extended: boolean } {
  const entries: SparseEntry[] = [];
  for (let i = 0; i < count; i++) {
    const at = start + i * 24;
    if (block[at] === 0) break; // GNU and BSD tar stop here too
    entries.push({ offset: numeric(block, at, 12), length: numeric(block, at + 12, 12) });
  }
  return { entries, extended: block[start + count * 24] > 0 };
}

/** Go's validateSparseEntries: in order, not overlapping, within the file's size. */
export function validSparse(entries: SparseEntry[], size: bigint): boolean {
  if (size < 0n) return false;
  let preEnd = 0n;
  for (const { offset, length } of entries) {
    if (offset < 0n || length < 0n || offset > INT64_MAX - length || offset + length > size || preEnd > offset) return false;
    preEnd = offset + length;
  }
  return true;
}

/** Go's PAX record keys the reader acts on. */
export const PAX = {
  path: 'path',
  linkpath: 'linkpath',
  size: 'size',
  sparseMap: 'GNU.sparse.map',
  sparseOffset: 'GNU.sparse.offset',
  sparseNumBytes: 'GNU.sparse.numbytes',
} as const;

/** PAX extended header records ("%d %s=%s\n"), as Go's parsePAX (GNU sparse 0.0 offsets become GNU.sparse.map). */
export function parsePax(data: Buffer): Map<string, string> {
  let s = data.toString('latin1');
  const records = new Map<string, string>();
  const sparseMap: string[] = [];
  while (s.length > 0) {
    const space = s.indexOf(' ');
    const n = space < 0 ? undefined : parseGoInt(s.slice(0, space));
    if (n === undefined || n < 5n || n > BigInt(s.length) || Number(n) - (space + 1) <= 0) throw new TarHeaderError('malformed PAX record');
    const end = Number(n);
    if (s[end - 1] !== '\n') throw new TarHeaderError('malformed PAX record (no newline where its length says)');
    const record = s.slice(space + 1, end - 1);
    const eq = record.indexOf('=');
    if (eq < 0) throw new TarHeaderError('malformed PAX record (no =)');
    const key = record.slice(0, eq);
    const value = record.slice(eq + 1);
    const stringField = key === 'path' || key === 'linkpath' || key === 'uname' || key === 'gname';
    if (key === '' || (stringField ? value.includes('\0') : key.includes('\0'))) throw new TarHeaderError('malformed PAX record (empty key or a NUL)');
    s = s.slice(end);
    if (key === PAX.sparseOffset || key === PAX.sparseNumBytes) {
      const wanted = sparseMap.length % 2 === 0 ? PAX.sparseOffset : PAX.sparseNumBytes;
      if (key !== wanted || value.includes(',')) throw new TarHeaderError('malformed GNU sparse 0.0 records');
      sparseMap.push(value);
    } else {
      records.set(key, value);
    }
  }
  if (sparseMap.length > 0) records.set(PAX.sparseMap, sparseMap.join(','));
  return records;
}

/** Go's parsePAXTime: seconds, then optionally '.' and digits. */
function validPaxTime(s: string): boolean {
  const dot = s.indexOf('.');
  const secs = dot < 0 ? s : s.slice(0, dot);
  const frac = dot < 0 ? '' : s.slice(dot + 1);
  return parseGoInt(secs) !== undefined && /^[0-9]*$/.test(frac);
}

/**
 * Go's mergePAX: records with an empty value keep the header's own field; path, linkpath and size apply;
 * uid, gid and the times must parse. Throws TarHeaderError where Go returns ErrHeader.
 */
export function mergePax(header: { name: string; linkname: string; size: bigint }, records: Map<string, string> | undefined): void {
  if (!records) return;
  for (const [key, value] of records) {
    if (value === '') continue;
    if (key === 'path') header.name = value;
    else if (key === 'linkpath') header.linkname = value;
    else if (key === 'size' || key === 'uid' || key === 'gid') {
      const n = parseGoInt(value);
      if (n === undefined) throw new TarHeaderError(`invalid PAX ${key} '${showField(value)}'`);
      if (key === 'size') header.size = n;
    } else if ((key === 'atime' || key === 'mtime' || key === 'ctime') && !validPaxTime(value)) {
      throw new TarHeaderError(`invalid PAX ${key} '${showField(value)}'`);
    }
  }
}

/** How a PAX-described GNU sparse file (formats 0.0, 0.1, 1.0) is laid out, or undefined when it is not one. */
export type PaxSparse = { version: '0.x'; entries: SparseEntry[] } | { version: '1.0' };

/**
 * Go's readGNUSparsePAXHeaders, up to reading a 1.0 map: applies GNU.sparse.name and the real size to the
 * header, and parses a 0.x map from the records.
 */
export function paxSparse(header: { name: string; size: bigint }, records: Map<string, string> | undefined): PaxSparse | undefined {
  const get = (key: string) => records?.get(key) ?? '';
  const major = get('GNU.sparse.major');
  const minor = get('GNU.sparse.minor');
  let version: PaxSparse['version'];
  if (major === '0' && (minor === '0' || minor === '1')) version = '0.x';
  else if (major === '1' && minor === '0') version = '1.0';
  else if (major !== '' || minor !== '') return undefined;
  else if (get(PAX.sparseMap) !== '') version = '0.x';
  else return undefined;
  const name = get('GNU.sparse.name');
  if (name !== '') header.name = name;
  const size = get('GNU.sparse.size') || get('GNU.sparse.realsize');
  if (size !== '') {
    const n = parseGoInt(size);
    if (n === undefined) throw new TarHeaderError(`invalid GNU sparse size '${showField(size)}'`);
    header.size = n;
  }
  if (version === '1.0') return { version };
  const count = parseGoInt(get('GNU.sparse.numblocks'));
  if (count === undefined || count < 0n || count >= 1n << 62n) throw new TarHeaderError('invalid GNU.sparse.numblocks');
  let map = get(PAX.sparseMap).split(',');
  if (map.length === 1 && map[0] === '') map = [];
  if (BigInt(map.length) !== 2n * count) throw new TarHeaderError('GNU.sparse.map does not hold numblocks entries');
  return { version, entries: sparseNumbers(map) };
}

/** Offset/length pairs as Go parses them (ParseInt base 10). */
export function sparseNumbers(tokens: string[]): SparseEntry[] {
  const entries: SparseEntry[] = [];
  for (let i = 0; i + 1 < tokens.length; i += 2) {
    const offset = parseGoInt(tokens[i]);
    const length = parseGoInt(tokens[i + 1]);
    if (offset === undefined || length === undefined) throw new TarHeaderError('invalid GNU sparse map entry');
    entries.push({ offset, length });
  }
  return entries;
}

/** Types that never carry data, whatever their size field says (Go's isHeaderOnlyType). */
export function isHeaderOnly(typeflag: string): boolean {
  return typeflag.length === 1 && '123456'.includes(typeflag);
}

export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}
