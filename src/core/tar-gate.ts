import * as path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import * as tar from 'tar-stream';
import { DockerceptionError } from './errors';

const BLOCK = 512;
const END_OF_ARCHIVE = 2 * BLOCK;
/** Trailing zeros are held back (counted, not stored) up to this much before being passed on. */
const MAX_HELD_ZEROS = 8 * 1024 * 1024;
const ZEROS = Buffer.alloc(64 * 1024);
const ZERO_WINDOW = ZEROS.subarray(0, END_OF_ARCHIVE);

/** What the gate learned about the builder's tar once it has seen all of it. */
export interface TarSummary {
  bytes: number;
  entries: number;
  /** Where the runtime Dockerfile came from: the tar itself, or the pair's Dockerfile.run added by us. */
  dockerfileSource: 'builder-output' | 'pair';
}

/** Decides, once the tar has ended, whether the builder run as a whole succeeded (its exit code). */
export type ExitVerdict = () => Promise<DockerceptionError | undefined>;

export interface TarGateOptions {
  /** Content of the pair's Dockerfile.run, added as `Dockerfile` when the tar has no root Dockerfile. */
  fallbackDockerfile: Buffer;
  /** Called when the tar has ended and all its bytes but the held-back end are through. */
  exitVerdict: ExitVerdict;
}

/** Turns `./a`, `a/`, `./` into `a`, `a`, `` (busybox tar writes `./` names). */
export function normaliseEntryName(name: string): string {
  let n = name;
  while (n.startsWith('./')) n = n.slice(2);
  if (n === '.') n = '';
  return n.replace(/\/+$/, '');
}

/** Why an entry name or link target would escape the build context, or undefined when it stays inside. */
export function unsafeReason(header: tar.Header): string | undefined {
  const name = header.name;
  const escapes = (p: string) => p === '..' || p.startsWith('../');
  if (name.startsWith('/')) return `absolute path '${name}'`;
  if (name.split('/').includes('..')) return `path with '..' '${name}'`;
  const target = header.linkname ?? '';
  if (header.type === 'link') {
    if (target.startsWith('/') || escapes(path.posix.normalize(target))) return `hard link '${name}' → '${target}' outside the context`;
  } else if (header.type === 'symlink') {
    if (target.startsWith('/')) return `symlink '${name}' → absolute target '${target}'`;
    const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(normaliseEntryName(name) || '.'), target));
    if (escapes(resolved)) return `symlink '${name}' → '${target}' outside the context`;
  }
  return undefined;
}

/**
 * The builder's stdout on its way into the runtime build: a tee that passes the bytes through untouched
 * while a copy is parsed by tar-stream, and holds back the end of the archive until the verdict is in.
 *
 * Why hold the end: the engine happily builds from a tar that lacks end-of-archive blocks, or that a
 * failing builder wrote, so it must not see the end of the body until we know the tar is whole and the
 * builder exited 0. The held-back part is the run of trailing zero bytes (the end-of-archive blocks and
 * padding), which costs a counter, not memory. On a bad verdict the stream is destroyed: the HTTP body
 * breaks off, the engine answers "unexpected EOF" and builds nothing.
 *
 * Checks: it is a tar; it has end-of-archive blocks at an entry boundary; nothing but zeros follows them;
 * no absolute or `..` names; no link pointing outside the context. When the tar has no root Dockerfile,
 * the pair's Dockerfile.run is added as one, in place of the end-of-archive blocks.
 */
export class TarGate extends Transform {
  private readonly extract = tar.extract();
  private readonly extractDone: Promise<Error | undefined>;
  private offset = 0;
  private emitted = 0;
  private heldZeros = 0;
  private lastNonZero = -1;
  /** Runs of ≥ 1 KiB of zeros that ended before the end of the stream: [start, end). */
  private readonly innerZeroRuns: Array<[number, number]> = [];
  /** Offsets where an entry's data (with padding) ends: where the next header or the end would start. */
  private readonly boundaries: number[] = [0];
  /** Data ranges [start, end) of the entries parsed so far, in order; end includes the padding. */
  private readonly entryData: Array<[number, number]> = [];
  /** Offset of the next byte passOn receives; the held zero run starts at runStart. */
  private passed = 0;
  private runStart = 0;
  private hold: { from: number; end: number; restart: number; chunks: Buffer[] } | undefined;
  private entries = 0;
  /** Headers parsed, the root './' entry included: 0 means nothing looked like a tar at all. */
  private headers = 0;
  private hasDockerfile = false;
  private failed = false;
  private flushing = false;
  summary: TarSummary | undefined;

  constructor(private readonly options: TarGateOptions) {
    // Up to 4 MiB read ahead of the engine: it reads a build context slower than a builder writes it,
    // and without the slack a small builder's container would wait on the engine before it can exit
    // (40–60 ms of a warm hello-go build, measured in-process). More costs peak RSS on large outputs for little gain.
    super({ writableHighWaterMark: 64 * 1024, readableHighWaterMark: 4 * 1024 * 1024 });
    this.extract.on('entry', (header, stream, next) => this.onEntry(header, stream, next));
    this.extractDone = new Promise((resolve) => {
      this.extract.once('error', (err) => resolve(err));
      this.extract.once('finish', () => resolve(undefined));
    });
    // An extract error must stop the flow at once: with a broken extract, write() never drains again.
    // (At the end, _flush weighs a parse error against the builder's exit code instead.)
    void this.extractDone.then((err) => {
      if (err && !this.flushing) this.fail(this.classifyParseError(err));
    });
  }

  private onEntry(header: tar.Header, stream: { on(event: 'end' | 'error', fn: () => void): unknown; resume(): unknown }, next: () => void): void {
    const dataStart = (header as tar.Header & { byteOffset: number }).byteOffset;
    const carriesData = (header.size ?? 0) > 0 && header.type !== 'directory';
    const dataEnd = dataStart + (carriesData ? Math.ceil((header.size ?? 0) / BLOCK) * BLOCK : 0);
    this.boundaries.push(dataEnd);
    this.entryData.push([dataStart, dataEnd]);
    const name = normaliseEntryName(header.name);
    this.headers++;
    if (name !== '') this.entries++;
    if ((name === 'Dockerfile' || name === 'dockerfile') && (header.type === 'file' || header.type === 'contiguous-file')) {
      this.hasDockerfile = true;
    }
    const unsafe = unsafeReason(header);
    if (unsafe) {
      this.fail(
        new DockerceptionError(
          'UNSAFE_PATH',
          `The builder's tar has an entry that would escape the build context: ${unsafe}. ` +
            `Write entries relative to the folder you archive (e.g. 'tar -C /out -cf - .') and keep links inside it.`,
          'builder-run',
        ),
      );
    }
    this.recheckHold();
    stream.on('end', () => next());
    // A cut-off entry errors here as well as on the extract; the extract's error is the one we report.
    stream.on('error', () => undefined);
    stream.resume();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.track(chunk);
    this.passOn(chunk);
    if (this.extract.write(chunk)) callback();
    else this.extract.once('drain', () => callback());
  }

  /** Zero-run bookkeeping, with memcmp/indexOf rather than byte loops on the hot path. The run of zeros
   * open at any moment starts at lastNonZero + 1. */
  private track(chunk: Buffer): void {
    const start = this.offset;
    this.offset += chunk.length;
    if (isAllZero(chunk)) return;
    let first = 0;
    while (chunk[first] === 0) first++;
    this.closeRun(this.lastNonZero + 1, start + first);
    let from = first;
    for (;;) {
      const at = chunk.indexOf(ZERO_WINDOW, from);
      if (at < 0) break;
      let end = at + END_OF_ARCHIVE;
      while (end < chunk.length && chunk[end] === 0) end++;
      if (end === chunk.length) break; // still open: it closes in a later chunk, or is the tail
      this.closeRun(start + at, start + end);
      from = end;
    }
    let last = chunk.length - 1;
    while (chunk[last] === 0) last--;
    this.lastNonZero = start + last;
  }

  private closeRun(runStart: number, runEnd: number): void {
    if (runEnd - runStart >= END_OF_ARCHIVE) this.innerZeroRuns.push([runStart, runEnd]);
  }

  /**
   * Passes bytes on, except two things. The trailing zeros are kept back (as a count) until more data or
   * the verdict. And a run of ≥ 1 KiB of zeros followed by more data is passed on only once the entries
   * parsed so far show it lies inside a file's data: otherwise it may be an end-of-archive marker with
   * something after it, and the engine, on seeing the marker, would stop reading the tar and build from it.
   * Such a run and what follows are queued until an entry shows it is data, or the checks fail.
   */
  private passOn(chunk: Buffer): void {
    const start = this.passed;
    this.passed += chunk.length;
    if (this.hold) {
      this.hold.chunks.push(chunk);
      return;
    }
    if (isAllZero(chunk)) {
      if (this.heldZeros === 0) this.runStart = start;
      this.heldZeros += chunk.length;
      // Bound what is held. (A > 8 MiB run of zeros at the very end is then partly passed on early.)
      if (this.heldZeros > MAX_HELD_ZEROS) this.pushZeros(this.heldZeros - END_OF_ARCHIVE);
      return;
    }
    let first = 0;
    while (chunk[first] === 0) first++;
    const runStart = this.heldZeros > 0 ? this.runStart : start;
    if (this.heldZeros + first >= END_OF_ARCHIVE && !this.runIsData(runStart, start + first)) {
      this.hold = { from: runStart, end: start + first, restart: start, chunks: [chunk] };
      return;
    }
    this.pushZeros(this.heldZeros);
    for (let from = first; ; ) {
      const at = chunk.indexOf(ZERO_WINDOW, from);
      if (at < 0) break;
      let end = at + END_OF_ARCHIVE;
      while (end < chunk.length && chunk[end] === 0) end++;
      if (end === chunk.length) break; // the tail: held below
      if (!this.runIsData(start + at, start + end)) {
        this.pushBytes(chunk.subarray(0, at));
        this.hold = { from: start + at, end: start + end, restart: start + at, chunks: [chunk.subarray(at)] };
        return;
      }
      from = end;
    }
    let last = chunk.length - 1;
    while (chunk[last] === 0) last--;
    this.pushBytes(chunk.subarray(0, last + 1));
    this.heldZeros = chunk.length - last - 1;
    this.runStart = start + last + 1;
  }

  /** Whether the zero run [start, end) lies in an entry's data, with < 1 KiB of it past the data's end. */
  private runIsData(start: number, end: number): boolean {
    for (let i = this.entryData.length - 1; i >= 0; i--) {
      const [dataStart, dataEnd] = this.entryData[i];
      if (dataStart <= start) return start < dataEnd && end < dataEnd + END_OF_ARCHIVE;
    }
    return false;
  }

  /** With a run on hold: pass it on once an entry shows it is data; fail once the tar went on past it. */
  private recheckHold(): void {
    const hold = this.hold;
    if (!hold) return;
    if (this.runIsData(hold.from, hold.end)) {
      this.hold = undefined;
      this.passed = hold.restart;
      for (const chunk of hold.chunks) this.passOn(chunk);
    } else if (this.entryData.some(([dataStart]) => dataStart > hold.end)) {
      this.fail(this.trailingDataError(hold.from));
    }
  }

  private pushBytes(bytes: Buffer): void {
    this.emitted += bytes.length;
    this.push(bytes);
  }

  private pushZeros(count: number): void {
    let left = count;
    while (left > 0) {
      const n = Math.min(left, ZEROS.length);
      this.pushBytes(ZEROS.subarray(0, n));
      left -= n;
    }
    this.heldZeros -= count;
  }

  /** Offset of the first end-of-archive marker: 1 KiB of zeros starting at an entry boundary. */
  private endOfArchive(): number | undefined {
    const runs = [...this.innerZeroRuns];
    // The run still open at the end of the stream.
    if (this.offset - (this.lastNonZero + 1) >= END_OF_ARCHIVE) runs.push([this.lastNonZero + 1, this.offset]);
    let best: number | undefined;
    for (const boundary of this.boundaries) {
      if (best !== undefined && boundary >= best) continue;
      if (runs.some(([s, e]) => s <= boundary && boundary + END_OF_ARCHIVE <= e)) best = boundary;
    }
    return best;
  }

  private classifyParseError(err: Error): DockerceptionError {
    const eoa = this.endOfArchive();
    if (eoa !== undefined && this.lastNonZero >= eoa) return this.trailingDataError(eoa);
    if (this.offset === 0) return notATar('The builder wrote nothing to stdout.');
    if (this.headers === 0) return notATar(`Its first ${Math.min(this.offset, 512)} bytes are not a tar header (${err.message}).`);
    if (/unexpected end of data/i.test(err.message)) {
      return new DockerceptionError(
        'TRUNCATED_TAR',
        `The builder's tar stops in the middle of an entry after ${this.offset} bytes (${this.entries} entries read). ` +
          `The builder probably died or its tar command was cut off; see its stderr above.`,
        'builder-run',
      );
    }
    return notATar(`After ${this.entries} good entries, the next tar header is invalid (${err.message}).`);
  }

  private trailingDataError(eoa: number): DockerceptionError {
    return new DockerceptionError(
      'TRAILING_DATA',
      `The builder wrote ${this.flushing ? '' : 'at least '}${this.offset - eoa - END_OF_ARCHIVE} bytes after the end of its tar (at byte ${eoa}), ` +
        `and not only zero padding. Logs and progress belong on stderr; stdout must carry the tar alone.`,
      'builder-run',
    );
  }

  private fail(error: DockerceptionError): void {
    if (this.failed) return;
    this.failed = true;
    this.destroy(error);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.extract.destroy();
    callback(error);
  }

  override _flush(callback: TransformCallback): void {
    this.flushing = true;
    this.extract.end(null);
    void this.decide().then(
      (error) => (error ? callback(error) : callback()),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  private async decide(): Promise<DockerceptionError | undefined> {
    const parseError = await this.extractDone;
    this.recheckHold();
    // The builder's exit status outranks what its output looks like: a tar cut off because the
    // builder failed is reported as the builder's failure.
    const exitError = await this.options.exitVerdict();
    if (exitError) return exitError;
    if (parseError) return this.classifyParseError(parseError);
    if (this.offset === 0) return notATar('The builder wrote nothing to stdout.');
    const eoa = this.endOfArchive();
    if (eoa === undefined) {
      return new DockerceptionError(
        'TRUNCATED_TAR',
        `The builder's tar has no end-of-archive marker (${this.entries} entries, ${this.offset} bytes): it was cut off, ` +
          `so files may be missing. Let the builder's tar command finish (don't kill it or pipe it through 'head').`,
        'builder-run',
      );
    }
    if (this.lastNonZero >= eoa || this.hold) return this.trailingDataError(eoa);
    if (this.hasDockerfile) {
      this.pushZeros(this.heldZeros);
    } else {
      if (this.emitted > eoa) {
        return this.trailingDataError(eoa);
      }
      // Replace the end-of-archive blocks by the pair's Dockerfile.run (as `Dockerfile`) and a new end.
      this.pushZeros(eoa - this.emitted);
      this.heldZeros = 0;
      this.pushBytes(await tarOfOneFile('Dockerfile', this.options.fallbackDockerfile));
    }
    this.summary = {
      bytes: this.emitted,
      entries: this.entries + (this.hasDockerfile ? 0 : 1),
      dockerfileSource: this.hasDockerfile ? 'builder-output' : 'pair',
    };
    return undefined;
  }
}

function isAllZero(buf: Buffer): boolean {
  for (let at = 0; at < buf.length; at += ZEROS.length) {
    const part = buf.subarray(at, at + ZEROS.length);
    if (!part.equals(ZEROS.subarray(0, part.length))) return false;
  }
  return true;
}

function notATar(detail: string): DockerceptionError {
  return new DockerceptionError(
    'NOT_A_TAR',
    `The builder's stdout is not a tar archive. ${detail} ` +
      `The builder's CMD must write a tar of the runtime context to stdout (e.g. 'tar -cf - .') and its logs to stderr.`,
    'builder-run',
  );
}

async function tarOfOneFile(name: string, content: Buffer): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name, size: content.length, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) }, content);
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const part of pack) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
