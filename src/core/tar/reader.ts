// The structure of a tar read incrementally, literally as the engine's reader (Go 1.19's archive/tar,
// Reader.Next) walks it: header blocks; PAX x records (the last x before an entry is the one that applies),
// PAX g headers (an entry of their own, which drops what came before them), GNU long names and links (over
// PAX path and linkpath), GNU sparse files (old 'S' headers with extension blocks, PAX 0.0/0.1/1.0 with
// GNU.sparse.name); data skipped by size; and the end where Go's Next() returns io.EOF. Checked against Go
// itself by test/unit/tar-oracle.test.ts.
//
// Linear in its input: data bytes are skipped, never scanned; only headers, metadata records and what
// follows the end are looked at. Memory is one block plus a PAX or long-name record (at most 1 MiB, Go's
// limit) or a 1.0 sparse map.
import { entryType, unsafeReason, type TarEntry } from './entry-rules';
import {
  BLOCK,
  TarHeaderError,
  cString,
  decodeHeader,
  isHeaderOnly,
  isZeroBlock,
  mergePax,
  oldGnuSparse,
  parseGoInt,
  parsePax,
  paxSparse,
  sparseExtension,
  sparseNumbers,
  validSparse,
  type RawHeader,
  type SparseEntry,
} from './header';

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

/** An entry whose header is read, waiting for sparse-map blocks before it is reported. */
interface Pending {
  entry: TarEntry;
  /** Data bytes that follow (after any old GNU extension blocks), before padding. */
  data: number;
  sparse: SparseEntry[];
}

type State =
  | { at: 'header' }
  /** Data, then padding: Go's discard and the padding read at the start of the next Next(). */
  | { at: 'skip'; data: number; pad: number }
  | { at: 'meta'; header: RawHeader; data: Buffer; filled: number; offset: number }
  /** Old GNU sparse extension blocks, read before the data. */
  | { at: 'sparse-ext'; pending: Pending }
  /** A GNU sparse 1.0 map, read in whole blocks from the start of the data. */
  | { at: 'sparse-map'; pending: Pending; map: string; newlines: number; needed: number; count?: number }
  | { at: 'end' }
  | { at: 'stopped' };

export class TarReader {
  /** Bytes read so far. */
  offset = 0;
  /** Entries read, as Go's Next() returns them (PAX g headers included). */
  entries = 0;
  /** Offset of the end-of-archive zero blocks, once seen. */
  endOfArchive: number | undefined;
  /** Bytes Go's reader has taken when its Next() returns io.EOF, once known. */
  goEnd: number | undefined;
  /** Set when Go's Next() would return an error (a bad header, a cut-off, a bad record). */
  goError: string | undefined;
  problem: TarProblem | undefined;

  private state: State = { at: 'header' };
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  /** Whether the part of a header block gathered so far is all zeros. */
  private blockZeroSoFar = true;
  /** A header position holding a zero block: the end, if the next block is zero too (or nothing follows). */
  private zeroBlockAt: number | undefined;
  private headersDecoded = 0;
  /** Entries that are not PAX g headers: an archive of none is empty. */
  private files = 0;
  // What the metadata headers read since the last entry say about the next one (Go's next() locals).
  private pax: Map<string, string> | undefined;
  private longName = '';
  private longLink = '';

  /** Whether PAX x records or GNU long names were read that no entry has used yet: Go applies them to
   * the next header, so an entry added after the end of this tar would take them. */
  get metadataPending(): boolean {
    return this.pax !== undefined || this.longName !== '' || this.longLink !== '';
  }

  /** The data of the entry being read, when onEntry asked for it with capture(). */
  private capturing: { parts: Buffer[]; done: (data: Buffer | undefined) => void } | undefined;
  /** Whether the entry just reported is sparse (its data is not its content). */
  private reportedSparse = false;

  /** onEntry may return a reason to refuse the entry: reading stops there. */
  constructor(private readonly onEntry: (entry: TarEntry) => string | undefined) {}

  /**
   * Called from onEntry: hands the entry's content to `done` once it has been read (undefined for a sparse
   * entry, whose data is not its content). Memory: the whole content, so only for small entries.
   */
  capture(done: (data: Buffer | undefined) => void): void {
    if (this.reportedSparse) return done(undefined);
    if (this.state.at !== 'skip' || this.state.data === 0) return done(Buffer.alloc(0));
    this.capturing = { parts: [], done };
  }

  /** The data of the entry being read, when onEntry asked for it with observe(). */
  private observing: { data: (chunk: Buffer) => void; end: () => void } | undefined;

  /**
   * Called from onEntry: hands the entry's content to `sink` chunk by chunk as it is read (the chunks are
   * the caller's: copy what you keep), then calls end(). False, and nothing is called, for a sparse entry
   * (its data is not its content). Memory: none of its own; may be used with capture() on one entry.
   */
  observe(sink: { data: (chunk: Buffer) => void; end: () => void }): boolean {
    if (this.reportedSparse) return false;
    if (this.state.at !== 'skip' || this.state.data === 0) {
      sink.end();
      return true;
    }
    this.observing = sink;
    return true;
  }

  /** Reads the next bytes of the tar. After a problem, further input is ignored. */
  write(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.problem) {
      const state = this.state;
      if (state.at === 'skip') {
        if (state.data > 0) {
          const n = Math.min(state.data, chunk.length - i);
          if (this.capturing) this.capturing.parts.push(Buffer.from(chunk.subarray(i, i + n)));
          this.observing?.data(chunk.subarray(i, i + n));
          state.data -= n;
          i += n;
          if (state.data === 0 && this.capturing) {
            this.capturing.done(Buffer.concat(this.capturing.parts));
            this.capturing = undefined;
          }
          if (state.data === 0 && this.observing) {
            this.observing.end();
            this.observing = undefined;
          }
        } else {
          const n = Math.min(state.pad, chunk.length - i);
          state.pad -= n;
          i += n;
        }
        if (state.data === 0 && state.pad === 0) this.state = { at: 'header' };
      } else if (state.at === 'meta') {
        const n = Math.min(state.data.length - state.filled, chunk.length - i);
        chunk.copy(state.data, state.filled, i, i + n);
        state.filled += n;
        i += n;
        if (state.filled === state.data.length) this.endMeta(state.header, state.data, state.offset);
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
    const atBoundary = this.state.at === 'header' && this.blockFill === 0;
    if (this.zeroBlockAt !== undefined && atBoundary) {
      // One zero block, then nothing: Go's reader takes that as the end too.
      this.reachEnd(this.zeroBlockAt, this.zeroBlockAt + BLOCK);
    } else if (this.offset === 0) {
      this.goEnd = 0;
      this.stop({ kind: 'empty' });
    } else if (atBoundary || (this.state.at === 'skip' && this.state.data === 0)) {
      // Go's Next() returns io.EOF here (input ending at a header or in padding); the tar was cut off all the same.
      this.goEnd = this.offset;
      this.stop({ kind: 'no-end-marker', offset: this.offset });
    } else if (this.headersDecoded === 0 && this.zeroBlockAt === undefined) {
      this.goError = 'unexpected EOF';
      this.stop({ kind: 'not-a-tar', detail: `it is ${this.offset} bytes long, shorter than one tar header` });
    } else {
      this.goError = 'unexpected EOF';
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
    const state = this.state;
    if (state.at === 'sparse-ext') return this.onSparseExtension(state.pending, block, at);
    if (state.at === 'sparse-map') return this.onSparseMap(state, block, at);
    if (isZeroBlock(block)) {
      if (this.zeroBlockAt === undefined) this.zeroBlockAt = at;
      else this.reachEnd(this.zeroBlockAt, at + BLOCK);
      return;
    }
    if (this.zeroBlockAt !== undefined) return this.fail(at, 'a header follows a single zero block');
    let header: RawHeader;
    try {
      header = decodeHeader(block);
    } catch (error) {
      if (!(error instanceof TarHeaderError)) throw error;
      this.goError = error.message;
      if (this.headersDecoded === 0) this.stop({ kind: 'not-a-tar', detail: `its first 512 bytes are not a tar header (${error.message})` });
      else this.stop({ kind: 'bad-header', offset: at, detail: error.message });
      return;
    }
    this.headersDecoded++;
    if (header.size < 0n && !isHeaderOnly(header.typeflag)) return this.fail(at, `a negative size (${header.size})`);
    if ('xgLK'.includes(header.typeflag)) {
      if (header.size > BigInt(MAX_META)) return this.fail(at, `a ${header.size}-byte metadata record (over 1 MiB)`);
      const size = Number(header.size);
      this.state = { at: 'meta', header, data: Buffer.alloc(size), filled: 0, offset: at };
      if (size === 0) this.endMeta(header, this.state.data, at);
      return;
    }
    try {
      this.startEntry(header, block, at);
    } catch (error) {
      if (!(error instanceof TarHeaderError)) throw error;
      this.fail(at, error.message);
    }
  }

  private endMeta(header: RawHeader, data: Buffer, at: number): void {
    const pad = padding(data.length);
    try {
      if (header.typeflag === 'x') {
        this.pax = parsePax(data); // replaces the records of an earlier x, as Go's next() does
      } else if (header.typeflag === 'g') {
        // Go returns a g header as an entry: its name (or the global path record), nothing else of it.
        // Go ignores mergePAX's error here, and stops merging at the first bad record in its map's random
        // order: with a bad record, the name is the path record or the header's own. The unsafe one is reported.
        const records = parsePax(data);
        const merged = { name: header.name, linkname: header.linkname, size: header.size };
        try {
          mergePax(merged, records);
        } catch (error) {
          if (!(error instanceof TarHeaderError)) throw error;
          if (unsafeReason({ name: text(header.name), type: 'other', linkname: '' })) merged.name = header.name;
        }
        this.forget();
        this.state = { at: 'skip', data: 0, pad };
        this.report({ name: text(merged.name), typeflag: 'g', type: 'other', linkname: '', size: 0n, mode: header.mode, offset: at });
        return;
      } else if (header.typeflag === 'L') {
        this.longName = cString(data);
      } else {
        this.longLink = cString(data);
      }
    } catch (error) {
      if (!(error instanceof TarHeaderError)) throw error;
      return this.fail(at, error.message);
    }
    this.state = { at: 'skip', data: 0, pad };
  }

  /** A header that is not metadata: apply what the metadata said, as Go's next() does, in its order. */
  private startEntry(raw: RawHeader, block: Buffer, at: number): void {
    const header = { name: raw.name, linkname: raw.linkname, size: raw.size };
    const records = this.pax;
    mergePax(header, records);
    if (this.longName !== '') header.name = this.longName;
    if (this.longLink !== '') header.linkname = this.longLink;
    this.forget();
    let typeflag = raw.typeflag;
    if (typeflag === '\0') typeflag = header.name.endsWith('/') ? '5' : '0';
    if (header.size < 0n && !isHeaderOnly(typeflag)) throw new TarHeaderError(`a negative size (${header.size})`);
    const physical = isHeaderOnly(typeflag) ? 0n : header.size;
    // The type follows the name before GNU.sparse.name replaces it (Go converts the typeflag first).
    const type = entryType(typeflag, header.name);
    let sparse: PaxSparseLayout | undefined;
    if (typeflag === 'S') {
      const old = oldGnuSparse(block);
      header.size = old.realSize;
      sparse = old.extended ? { extended: true, entries: old.entries } : { entries: old.entries };
    } else {
      const found = paxSparse(header, records);
      if (found?.version === '1.0') sparse = { mapInData: true, entries: [] };
      else if (found) sparse = { entries: found.entries };
    }
    const entry: TarEntry = { name: text(header.name), typeflag, type, linkname: text(header.linkname), size: header.size, mode: raw.mode, offset: at };
    const pending: Pending = { entry, data: bigToNumber(physical), sparse: sparse?.entries ?? [] };
    if (!sparse) return this.finish(pending, false);
    if (sparse.extended) this.state = { at: 'sparse-ext', pending };
    else if (sparse.mapInData) this.readSparseMap(pending);
    else this.finish(pending, true);
  }

  private onSparseExtension(pending: Pending, block: Buffer, at: number): void {
    try {
      const { entries, extended } = sparseExtension(block);
      pending.sparse.push(...entries);
      if (!extended) this.finish(pending, true);
    } catch (error) {
      if (!(error instanceof TarHeaderError)) throw error;
      this.fail(at, error.message);
    }
  }

  /** Go's readGNUSparseMap1x0: newline-ended decimal numbers in whole blocks at the start of the data. */
  private readSparseMap(pending: Pending): void {
    this.state = { at: 'sparse-map', pending, map: '', newlines: 0, needed: 1 };
    this.needMapBlock(pending);
  }

  private needMapBlock(pending: Pending): void {
    if (pending.data < BLOCK) this.fail(pending.entry.offset, 'the GNU sparse map runs past the entry’s data');
  }

  private onSparseMap(state: Extract<State, { at: 'sparse-map' }>, block: Buffer, at: number): void {
    const chunk = block.toString('latin1');
    state.map += chunk;
    state.pending.data -= BLOCK;
    for (let i = 0; i < chunk.length; i++) if (chunk.charCodeAt(i) === 0x0a) state.newlines++;
    try {
      if (state.count === undefined) {
        if (state.newlines < 1) return this.needMapBlock(state.pending);
        const count = parseGoInt(this.mapToken(state));
        if (count === undefined || count < 0n || count >= 1n << 62n) throw new TarHeaderError('invalid GNU sparse map entry count');
        state.count = Number(count);
        state.needed = 2 * state.count;
      }
      if (state.newlines < state.needed) return this.needMapBlock(state.pending);
      const tokens: string[] = [];
      for (let i = 0; i < state.needed; i++) tokens.push(this.mapToken(state));
      state.pending.sparse = sparseNumbers(tokens);
      this.finish(state.pending, true);
    } catch (error) {
      if (!(error instanceof TarHeaderError)) throw error;
      this.fail(at, error.message);
    }
  }

  private mapToken(state: Extract<State, { at: 'sparse-map' }>): string {
    const nl = state.map.indexOf('\n');
    const token = state.map.slice(0, nl);
    state.map = state.map.slice(nl + 1);
    state.newlines--;
    return token;
  }

  /** The entry's header (and sparse map) are read: report it, then skip its data. */
  private finish(pending: Pending, sparse: boolean): void {
    const { entry } = pending;
    if (sparse && (isHeaderOnly(entry.typeflag) || !validSparse(pending.sparse, entry.size))) {
      return this.fail(entry.offset, 'an invalid GNU sparse map');
    }
    this.state = { at: 'skip', data: pending.data, pad: padding(pending.data) };
    if (this.state.data === 0 && this.state.pad === 0) this.state = { at: 'header' };
    this.reportedSparse = sparse;
    this.report(entry);
    this.reportedSparse = false;
  }

  private report(entry: TarEntry): void {
    this.entries++;
    if (entry.typeflag !== 'g') this.files++;
    const refused = this.onEntry(entry);
    if (refused) this.stop({ kind: 'refused-entry', entry, reason: refused });
  }

  /** Go's next() starts afresh after an entry: the metadata headers before it are spent. */
  private forget(): void {
    this.pax = undefined;
    this.longName = '';
    this.longLink = '';
  }

  private reachEnd(at: number, goEnd: number): void {
    this.endOfArchive = at;
    this.goEnd = goEnd;
    this.zeroBlockAt = undefined;
    this.state = { at: 'end' };
    if (this.files === 0) this.stop({ kind: 'empty-archive' });
  }

  /** Go's reader returns an error here. */
  private fail(offset: number, detail: string): void {
    this.goError = detail;
    this.stop({ kind: 'bad-header', offset, detail });
  }

  private stop(problem: TarProblem): void {
    this.problem ??= problem;
    this.state = { at: 'stopped' };
  }
}

type PaxSparseLayout = { entries: SparseEntry[]; extended?: true; mapInData?: true };

/** Go's blockPadding. */
function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** A size as a count of bytes to skip: beyond 2^53 it is never reached in a real stream anyway. */
function bigToNumber(size: bigint): number {
  return size > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER - (Number.MAX_SAFE_INTEGER % BLOCK) : Number(size);
}

/** A Go string (one char per byte) as text; bytes that are not UTF-8 become U+FFFD. */
function text(bytes: string): string {
  for (let i = 0; i < bytes.length; i++) if (bytes.charCodeAt(i) > 0x7f) return Buffer.from(bytes, 'latin1').toString('utf8');
  return bytes;
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
