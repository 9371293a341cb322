// The structure of a tar read incrementally, the way the engine's reader (Go's archive/tar) walks it:
// header blocks, data skipped by size, and the end of the archive where a header block is all zeros.
// Linear in its input: data bytes are skipped, never scanned; only headers and what follows the end are
// looked at. Memory is one block plus a PAX or long-name record (at most 1 MiB, Go's limit).
import { entryType, type TarEntry } from './entry-rules';
import { BLOCK, TarHeaderError, decodeHeader, isHeaderOnly, isZeroBlock, paddedSize, parsePax, sparseExtensionContinues, type RawHeader } from './header';

/** Go's maxSpecialFileSize: PAX records and GNU long names larger than this are refused. */
const MAX_META = 1024 * 1024;
const ZEROS = Buffer.alloc(64 * 1024);

/** What is wrong with the tar, found while reading it. */
export type TarProblem =
  | { kind: 'empty' }
  | { kind: 'empty-archive' }
  | { kind: 'not-a-tar'; detail: string }
  | { kind: 'bad-header'; offset: number; detail: string }
  | { kind: 'cut-mid-entry'; offset: number }
  | { kind: 'no-end-marker'; offset: number }
  | { kind: 'trailing-data'; endOfArchive: number; firstByte: number }
  | { kind: 'refused-entry'; entry: TarEntry; reason: string };

type State =
  | { at: 'header' }
  | { at: 'skip'; left: number }
  | { at: 'meta'; header: RawHeader; data: Buffer; filled: number }
  | { at: 'sparse'; header: RawHeader; offset: number }
  | { at: 'end' }
  | { at: 'stopped' };

export class TarReader {
  /** Bytes read so far. */
  offset = 0;
  /** Entries read (PAX, long-name and sparse-map blocks are not entries). */
  entries = 0;
  /** Offset of the end-of-archive blocks, once seen. */
  endOfArchive: number | undefined;
  problem: TarProblem | undefined;

  private state: State = { at: 'header' };
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  /** Whether the part of a header block gathered so far is all zeros. */
  private blockZeroSoFar = true;
  /** A header position holding a zero block: the end, if the next block is zero too (or nothing follows). */
  private zeroBlockAt: number | undefined;
  private headersDecoded = 0;
  private pax = new Map<string, string>();
  private longName: string | undefined;
  private longLink: string | undefined;

  /** onEntry may return a reason to refuse the entry: reading stops there. */
  constructor(private readonly onEntry: (entry: TarEntry) => string | undefined) {}

  /** Reads the next bytes of the tar. After a problem, further input is ignored. */
  write(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.problem) {
      const state = this.state;
      if (state.at === 'skip') {
        const n = Math.min(state.left, chunk.length - i);
        state.left -= n;
        i += n;
        if (state.left === 0) this.state = { at: 'header' };
      } else if (state.at === 'meta') {
        const n = Math.min(state.data.length - state.filled, chunk.length - i);
        chunk.copy(state.data, state.filled, i, i + n);
        state.filled += n;
        i += n;
        if (state.filled === state.data.length) this.endMeta(state.header, state.data, this.offset + i);
      } else if (state.at === 'end') {
        const nonZero = firstNonZero(chunk, i);
        if (nonZero >= 0) this.stop({ kind: 'trailing-data', endOfArchive: this.endOfArchive ?? 0, firstByte: this.offset + nonZero });
        i = chunk.length;
      } else if (state.at === 'stopped') {
        i = chunk.length;
      } else {
        i = this.gatherBlock(chunk, i);
      }
    }
    this.offset += chunk.length;
  }

  /** The input ended: decide whether the tar was whole. */
  end(): void {
    if (this.problem || this.state.at === 'end') return;
    if (this.zeroBlockAt !== undefined && this.state.at === 'header' && this.blockFill === 0) {
      // One zero block, then nothing: Go's reader takes that as the end too.
      this.reachEnd(this.zeroBlockAt);
    } else if (this.offset === 0) {
      this.stop({ kind: 'empty' });
    } else if (this.headersDecoded === 0) {
      this.stop({ kind: 'not-a-tar', detail: `it is ${this.offset} bytes long, shorter than one tar header` });
    } else if (this.state.at === 'header' && this.blockFill === 0) {
      this.stop({ kind: 'no-end-marker', offset: this.offset });
    } else {
      this.stop({ kind: 'cut-mid-entry', offset: this.offset });
    }
  }

  /**
   * Where the bytes that may be the end of the archive start: a header position holding zeros so far.
   * Everything before it is certainly not the end; from it on, everything is zeros.
   */
  holdFrom(): number | undefined {
    if (this.state.at === 'end') return this.endOfArchive;
    if (this.zeroBlockAt !== undefined) return this.zeroBlockAt;
    if (this.state.at === 'header' && this.blockFill > 0 && this.blockZeroSoFar) return this.offset - this.blockFill;
    return undefined;
  }

  private gatherBlock(chunk: Buffer, i: number): number {
    if (this.blockFill === 0 && chunk.length - i >= BLOCK) {
      this.onBlock(chunk.subarray(i, i + BLOCK), this.offset + i);
      return i + BLOCK;
    }
    const n = Math.min(BLOCK - this.blockFill, chunk.length - i);
    const part = chunk.subarray(i, i + n);
    part.copy(this.block, this.blockFill);
    this.blockZeroSoFar &&= isZeroBlock(part);
    this.blockFill += n;
    if (this.blockFill === BLOCK) {
      this.blockFill = 0;
      this.blockZeroSoFar = true;
      this.onBlock(this.block, this.offset + i + n - BLOCK);
    }
    return i + n;
  }

  private onBlock(block: Buffer, at: number): void {
    if (this.state.at === 'sparse') {
      if (!sparseExtensionContinues(block)) this.startEntry(this.state.header, this.state.offset);
      return;
    }
    if (isZeroBlock(block)) {
      if (this.zeroBlockAt === undefined) this.zeroBlockAt = at;
      else this.reachEnd(this.zeroBlockAt);
      return;
    }
    if (this.zeroBlockAt !== undefined) {
      this.stop({ kind: 'bad-header', offset: at, detail: 'a header follows a single zero block' });
      return;
    }
    let header: RawHeader;
    try {
      header = decodeHeader(block);
    } catch (error) {
      if (!(error instanceof TarHeaderError)) throw error;
      if (this.headersDecoded === 0) this.stop({ kind: 'not-a-tar', detail: `its first 512 bytes are not a tar header (${error.message})` });
      else this.stop({ kind: 'bad-header', offset: at, detail: error.message });
      return;
    }
    this.headersDecoded++;
    if ('xgLK'.includes(header.typeflag)) {
      if (header.size > MAX_META) {
        this.stop({ kind: 'bad-header', offset: at, detail: `a ${header.size}-byte metadata record (over 1 MiB)` });
        return;
      }
      this.state = { at: 'meta', header, data: Buffer.alloc(header.size), filled: 0 };
      if (header.size === 0) this.endMeta(header, this.state.data, at + BLOCK);
    } else if (header.gnuSparseExtended) {
      this.state = { at: 'sparse', header, offset: at };
    } else {
      this.startEntry(header, at);
    }
  }

  private endMeta(header: RawHeader, data: Buffer, end: number): void {
    try {
      if (header.typeflag === 'x') for (const [key, value] of parsePax(data)) this.pax.set(key, value);
      else if (header.typeflag === 'g')
        parsePax(data); // global records: checked, then ignored like Docker does
      else if (header.typeflag === 'L') this.longName = cString(data);
      else this.longLink = cString(data);
    } catch (error) {
      if (!(error instanceof TarHeaderError)) throw error;
      this.stop({ kind: 'bad-header', offset: end - data.length - BLOCK, detail: error.message });
      return;
    }
    this.skip(paddedSize(data.length) - data.length);
  }

  private startEntry(header: RawHeader, at: number): void {
    const name = this.pax.get('path') ?? this.longName ?? header.name;
    const linkname = this.pax.get('linkpath') ?? this.longLink ?? header.linkname;
    const paxSize = this.pax.get('size');
    let size = header.size;
    if (paxSize !== undefined) {
      size = Number(paxSize);
      if (!/^\d+$/.test(paxSize) || !Number.isSafeInteger(size)) {
        this.stop({ kind: 'bad-header', offset: at, detail: `invalid PAX size '${paxSize}'` });
        return;
      }
    }
    this.pax = new Map();
    this.longName = undefined;
    this.longLink = undefined;
    const type = entryType(header.typeflag, name);
    const dataSize = isHeaderOnly(header.typeflag) || type === 'directory' ? 0 : size;
    const entry: TarEntry = { name, type, linkname, size: dataSize, mode: header.mode, offset: at };
    this.entries++;
    const refused = this.onEntry(entry);
    if (refused) {
      this.stop({ kind: 'refused-entry', entry, reason: refused });
      return;
    }
    this.skip(paddedSize(dataSize));
  }

  private skip(bytes: number): void {
    this.state = bytes > 0 ? { at: 'skip', left: bytes } : { at: 'header' };
  }

  private reachEnd(at: number): void {
    this.endOfArchive = at;
    this.zeroBlockAt = undefined;
    this.state = { at: 'end' };
    if (this.entries === 0) this.stop({ kind: 'empty-archive' });
  }

  private stop(problem: TarProblem): void {
    this.problem ??= problem;
    this.state = { at: 'stopped' };
  }
}

function cString(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString('utf8', 0, nul < 0 ? data.length : nul);
}

/** Index of the first non-zero byte at or after `from`, or -1; compares 64 KiB at a time. */
export function firstNonZero(buf: Buffer, from = 0): number {
  for (let at = from; at < buf.length; at += ZEROS.length) {
    const end = Math.min(at + ZEROS.length, buf.length);
    if (buf.compare(ZEROS, 0, end - at, at, end) === 0) continue;
    for (let i = at; i < end; i++) if (buf[i] !== 0) return i;
  }
  return -1;
}
