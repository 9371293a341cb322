import { Duplex } from 'node:stream';
import type { Gunzip } from 'node:zlib';
import * as tar from 'tar-stream';
import { DockerceptionError, messageOf } from './errors';
import { SNIFF_BYTES, decompressorFor, sniffCompression, type Compression } from './tar/compression';
import { EndHold } from './tar/end-hold';
import { contextPath, isRootDockerfile, unsafeReason, type TarEntry } from './tar/entry-rules';
import { TarReader } from './tar/reader';
import { ContentSniffer, type ImageFile } from './doctor/image-files';
import { runtimeDockerfileFor } from './runtime-dockerfile';
import { builderOutputVerdict, type OutputFacts, type OutputProblem } from './tar/verdict';

export { normaliseEntryName, unsafeReason } from './tar/entry-rules';

/** How long a broken output waits for the builder's exit status, so that a failing builder is reported
 * as such (with its stderr) rather than by what its output looks like. */
const EXIT_GRACE_MS = 2000;
const ZEROS = Buffer.alloc(64 * 1024);
/** The largest root Dockerfile kept for the up-to-date check (the engine's own limit is far larger). */
const MAX_KEPT_DOCKERFILE = 1024n * 1024n;

/** What the gate learned about the builder's tar once it has seen all of it. */
export interface TarSummary {
  /** Bytes of plain tar handed to the engine. */
  bytes: number;
  entries: number;
  /** Where the runtime Dockerfile came from: the tar itself, or the pair's Dockerfile.run added by us. */
  dockerfileSource: 'builder-output' | 'pair';
  /** Set when the builder's output was compressed (the engine is handed the decompressed tar). */
  compression?: Compression;
  /** The root Dockerfile the builder wrote, as the engine reads it (absent when it was over 1 MiB, or came
   * from the pair). Not kept in build records: what it reads is. */
  dockerfile?: Buffer;
}

/** One line for people: where the runtime Dockerfile came from and what the context held. */
export function describeContext(context: TarSummary): string {
  const source = context.dockerfileSource === 'pair' ? "the pair's Dockerfile.run" : "the builder's output";
  const compressed = context.compression ? ` (${context.compression}-compressed by the builder, handed on plain)` : '';
  return `Runtime Dockerfile from ${source}; context ${context.entries} entries, ${context.bytes} bytes${compressed}`;
}

/** The builder run's own verdict, asked once its output has ended (or broken): its exit status. */
export type ExitVerdict = () => Promise<DockerceptionError | undefined>;

export interface TarGateOptions {
  /** Content of the pair's Dockerfile.run, added as `Dockerfile` when the tar has no root Dockerfile;
   * undefined when the pair has none (the builder must then write one into its tar). */
  fallbackDockerfile: Buffer | undefined;
  /** The pair's Dockerfile.run as people name it, for the message when it is missing and needed. */
  fallbackName?: string;
  exitVerdict: ExitVerdict;
  /**
   * Called once the tar is whole and the builder exited 0, before the engine is handed the end of the tar
   * (so before it can read the runtime Dockerfile's FROM): what must be known of the inputs as the build
   * sees them is asked here. A failure fails the build.
   */
  beforeEnd?: (summary: Pick<TarSummary, 'dockerfileSource' | 'dockerfile'>) => Promise<void>;
  /** Keep what the doctor needs of every entry as it streams (see ContextListing). */
  listFiles?: boolean;
}

/**
 * Every entry of the runtime build's context as the engine will hold it, with what the doctor reads
 * from a file's data (ELF facts, a #! line, a loader configuration file's bytes), gathered while the tar
 * streams: the runtime image's listing is then made from it and the base image's, without a second pass.
 */
export interface ContextListing {
  /** By context path ('app/run.sh'), as the engine extracts the tar: a later entry of a name replaces an earlier one. */
  files: Map<string, ImageFile>;
  /** Why the listing cannot stand for what the engine extracted (a hard link, a sparse file, a device …): the doctor then exports the image. */
  unlisted?: string;
}

/** A name a loader configuration file could be copied from (its bytes are kept: /etc/ld.so.cache and the like). */
const LOADER_CONFIG_NAME = /(^|\/)(ld\.so\.cache|ld\.so\.conf|ld-musl-[^/]+\.path)$|(^|\/)ld\.so\.conf\.d\/[^/]+$/;

/**
 * The builder's stdout on its way into the runtime build: checked as it streams, passed on untouched,
 * and ended only once it is known to be whole and the builder exited 0.
 *
 * Why hold the end: the engine builds from a tar that lacks its end, or that a failing builder wrote, so
 * it must not see the end of the body before the verdict. A TarReader walks the tar as the engine will
 * and an EndHold keeps back what may be the end (zeros, so only counted). On a bad verdict the stream is
 * destroyed: the HTTP body breaks off, the engine answers "unexpected EOF" and builds nothing.
 *
 * Gzip output is decompressed here, so the checks see the tar and the engine gets a plain one. When the
 * tar has no root Dockerfile, the pair's Dockerfile.run is added as one, in place of the end blocks.
 */
export class TarGate extends Duplex {
  summary: TarSummary | undefined;
  /** With the listFiles option: the context's entries, once the tar is whole. */
  readonly listing: ContextListing | undefined;

  private readonly reader = new TarReader((entry) => this.onEntry(entry));
  private readonly hold = new EndHold();
  /** The first bytes written: what the format is sniffed from, and what a user is shown when they are not a tar. */
  private head = Buffer.alloc(0);
  private sniffed = false;
  private compression: Compression | undefined;
  private inflater: Gunzip | undefined;
  private problem: OutputProblem | undefined;
  private inputEnded = false;
  private hasDockerfile = false;
  /** The content of the last root `Dockerfile` and `dockerfile` entries, when kept. */
  private readonly dockerfiles: { upper?: Buffer; lower?: Buffer } = {};
  private entries = 0;
  private emitted = 0;
  /** Bytes of tar the builder wrote (after decompression), counted on after a problem too. */
  private tarBytes = 0;
  /** A write callback held back until the engine reads on (or the inflater drains). */
  private waiting: (() => void) | undefined;
  /** The last push() said the engine is behind. Only that promises a later _read(): a write that
   * pushed nothing (held zeros) must not wait for one, or the stream stalls. */
  private behind = false;
  private exitStatus: Promise<DockerceptionError | undefined> | undefined;

  constructor(private readonly options: TarGateOptions) {
    // Up to 4 MiB read ahead of the engine: it reads a build context more slowly than a builder writes
    // it, and without the slack a small builder would wait on the engine before it can exit.
    super({ writableHighWaterMark: 64 * 1024, readableHighWaterMark: 4 * 1024 * 1024 });
    if (options.listFiles) this.listing = { files: new Map() };
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    if (this.problem) {
      // Drained, not passed on: the verdict waits for the exit status. Compressed bytes are not
      // decompressed any more, so their tar bytes are not counted.
      if (!this.inflater) this.tarBytes += chunk.length;
      return callback();
    }
    if (this.sniffed) return this.feed(chunk, callback);
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.length >= SNIFF_BYTES) this.begin(callback);
    else callback();
  }

  override _read(): void {
    this.behind = false;
    if (this.inflater) this.inflater.resume();
    else this.release();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inputEnded = true;
    if (!this.sniffed && !this.problem) this.begin(() => this.endInput(callback));
    else this.endInput(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inflater?.destroy();
    this.release();
    callback(error);
  }

  /** The format is known from the first bytes: set up decompression, then read them. */
  private begin(callback: () => void): void {
    this.sniffed = true;
    const format = sniffCompression(this.head);
    if (format) {
      this.compression = format;
      this.inflater = decompressorFor(format);
      if (!this.inflater) {
        this.fail({ kind: 'unsupported-compression', format });
        return callback();
      }
      this.inflater.on('data', (data: Buffer) => this.readTar(data));
      this.inflater.on('error', (error) => this.fail({ kind: 'bad-compression', format, detail: error.message }));
    }
    this.feed(this.head, callback);
  }

  private feed(chunk: Buffer, callback: () => void): void {
    if (this.inflater) {
      if (this.inflater.write(chunk)) return callback();
      this.waiting = callback;
      this.inflater.once('drain', () => this.release());
      return;
    }
    this.readTar(chunk);
    if (this.behind && !this.problem) this.waiting = callback;
    else callback();
  }

  /** Plain tar bytes: read them, then pass on what cannot be the end. */
  private readTar(data: Buffer): void {
    this.tarBytes += data.length;
    if (this.problem) return;
    const start = this.reader.offset;
    this.reader.write(data);
    if (this.reader.problem) return this.fail(this.reader.problem);
    const { zeros, from, to } = this.hold.release(start, this.reader.offset, this.reader.holdFrom());
    this.pushZeros(zeros);
    if (to > from) this.pushBytes(data.subarray(from, to));
    if (this.behind) this.inflater?.pause();
  }

  /**
   * Keeps the root Dockerfile's content (what the runtime build reads; its images are up-to-date inputs).
   * The engine reads `Dockerfile`, else `dockerfile`; a later entry of the same name replaces an earlier
   * one. A link, a sparse or a large file is not kept: the build is then not trusted as up to date later.
   */
  private keepDockerfile(entry: TarEntry): void {
    const slot = contextPath(entry.name) === 'Dockerfile' ? 'upper' : 'lower';
    this.dockerfiles[slot] = undefined;
    if (entry.type !== 'file' || entry.size > MAX_KEPT_DOCKERFILE) return;
    this.reader.capture((data) => (this.dockerfiles[slot] = data));
  }

  private onEntry(entry: TarEntry): string | undefined {
    // A PAX g header is an entry to Go's reader, and the engine refuses it if its name climbs out, but
    // it writes no file: it is neither the Dockerfile nor counted.
    if (entry.typeflag !== 'g') {
      if (isRootDockerfile(entry)) {
        this.hasDockerfile = true;
        this.keepDockerfile(entry);
      }
      if (contextPath(entry.name) !== '') this.entries++;
      if (this.listing) this.list(this.listing, entry);
    }
    return unsafeReason(entry);
  }

  /** One entry into the listing, with its data sniffed as it streams. */
  private list(listing: ContextListing, entry: TarEntry): void {
    const name = contextPath(entry.name);
    if (name === undefined || name === '') return; // refused (climbs out), or the root itself
    const type = entry.type === 'file' || entry.type === 'directory' || entry.type === 'symlink' ? entry.type : undefined;
    if (!type) {
      listing.unlisted ??= `the context holds ${entry.type === 'link' ? 'a hard link' : `a ${entry.type}`} (${name})`;
      return;
    }
    const previous = listing.files.get(name);
    if (previous && previous.type !== type) listing.unlisted ??= `the context holds ${name} twice, as a ${previous.type} and a ${type}`;
    const file: ImageFile = { path: `/${name}`, type, size: type === 'file' ? Number(entry.size) : 0, mode: entry.mode & 0o7777 };
    if (type === 'symlink') file.linkTarget = entry.linkname;
    listing.files.set(name, file);
    if (type !== 'file') return;
    if (file.size === 0) {
      file.format = 'other';
      return;
    }
    const sniffer = new ContentSniffer(file, LOADER_CONFIG_NAME.test(name));
    if (!this.reader.observe({ data: (chunk) => sniffer.push(chunk), end: () => sniffer.end() }))
      listing.unlisted ??= `the context holds a sparse file (${name})`;
  }

  private endInput(callback: (error?: Error | null) => void): void {
    if (this.inflater && !this.problem) {
      this.inflater.once('end', () => this.conclude(callback));
      this.inflater.end();
    } else {
      this.conclude(callback);
    }
  }

  /** All input is in: end the tar if it is whole and the builder exited 0. */
  private conclude(callback: (error?: Error | null) => void): void {
    if (this.problem) return; // fail() destroys the stream once the exit status is in
    this.reader.end();
    if (this.reader.problem) return this.fail(this.reader.problem);
    void this.exit().then(async (exitError) => {
      if (exitError) return callback(exitError);
      if (!this.hasDockerfile && !this.options.fallbackDockerfile) return callback(this.noRuntimeDockerfile());
      try {
        await this.options.beforeEnd?.({ dockerfileSource: this.hasDockerfile ? 'builder-output' : 'pair', dockerfile: this.keptDockerfile() });
      } catch (error) {
        return callback(error as Error);
      }
      await this.pushEnd();
      this.push(null);
      callback();
    });
  }

  /** Stops passing bytes on, keeps draining the builder, and fails once its exit status is in (or the grace is over). */
  private fail(problem: OutputProblem): void {
    if (this.problem) return;
    this.problem = problem;
    this.release();
    this.inflater?.resume();
    void this.exit(EXIT_GRACE_MS).then((exitError) => {
      const facts: OutputFacts = {
        bytes: this.tarBytes,
        entries: this.entries,
        head: this.head,
        stillWriting: !this.inputEnded || this.inflater !== undefined,
      };
      this.destroy(builderOutputVerdict(exitError, problem, facts));
    });
  }

  /** The builder's exit verdict, asked once; with a grace, undefined if it has not come by then. */
  private async exit(graceMs?: number): Promise<DockerceptionError | undefined> {
    // Fail closed: an error while learning the exit status is never "exit 0".
    this.exitStatus ??= this.options.exitVerdict().catch((error: unknown) => exitUnknown(error));
    if (graceMs === undefined) return this.exitStatus;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), graceMs)));
    try {
      return await Promise.race([this.exitStatus, grace]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Neither the tar nor the pair has a runtime Dockerfile: say so, with one written for this tar. */
  private noRuntimeDockerfile(): DockerceptionError {
    const name = this.options.fallbackName ?? 'Dockerfile.run';
    const files = [...(this.listing?.files.values() ?? [])];
    const suggested = runtimeDockerfileFor(files);
    const shown =
      files
        .slice(0, 5)
        .map((f) => f.path.slice(1))
        .join(', ') + (files.length > 5 ? ', …' : '');
    return new DockerceptionError(
      'NO_PAIR',
      `${name} is missing and the builder's tar has no Dockerfile, so the runtime image has nothing to build from. ` +
        `The tar holds ${files.length} entr${files.length === 1 ? 'y' : 'ies'}${files.length ? ` (${shown})` : ''}. ` +
        `Create ${name} (for this tar: ${suggested
          .split('\n')
          .filter((l) => l && !l.startsWith('#'))
          .join('; ')}), or have the builder write a Dockerfile into its tar; then build again.`,
      'builder-run',
      { runtimeDockerfile: suggested },
    );
  }

  /** The end of the tar, held until now: as the builder wrote it, or with Dockerfile.run added before it. */
  private async pushEnd(): Promise<void> {
    if (this.hasDockerfile) this.pushZeros(this.hold.held(this.reader.offset));
    else {
      const fallback = this.options.fallbackDockerfile ?? Buffer.alloc(0); // never empty here: conclude() refused that
      this.pushBytes(await tarOfOneFile('Dockerfile', fallback, this.reader.metadataPending));
      if (this.listing) {
        const file: ImageFile = { path: '/Dockerfile', type: 'file', size: fallback.length, mode: 0o644 };
        const sniffer = new ContentSniffer(file);
        if (file.size > 0) sniffer.push(fallback);
        sniffer.end();
        this.listing.files.set('Dockerfile', file);
      }
    }
    this.summary = {
      bytes: this.emitted,
      entries: this.entries + (this.hasDockerfile ? 0 : 1),
      dockerfileSource: this.hasDockerfile ? 'builder-output' : 'pair',
      ...(this.compression ? { compression: this.compression } : {}),
      ...(this.keptDockerfile() ? { dockerfile: this.keptDockerfile() } : {}),
    };
  }

  /** The Dockerfile the engine builds from, when its content was kept: `Dockerfile` if the tar has one. */
  private keptDockerfile(): Buffer | undefined {
    if (!this.hasDockerfile) return undefined;
    return 'upper' in this.dockerfiles ? this.dockerfiles.upper : this.dockerfiles.lower;
  }

  private release(): void {
    const callback = this.waiting;
    this.waiting = undefined;
    callback?.();
  }

  private pushBytes(bytes: Buffer): void {
    this.emitted += bytes.length;
    if (!this.push(bytes)) this.behind = true;
  }

  private pushZeros(count: number): void {
    for (let left = count; left > 0; left -= ZEROS.length) this.pushBytes(ZEROS.subarray(0, Math.min(left, ZEROS.length)));
  }
}

/** What an error while reading the builder's exit status means: a failure, never a success. */
function exitUnknown(error: unknown): DockerceptionError {
  if (error instanceof DockerceptionError) return error;
  return new DockerceptionError(
    'BUILDER_EXIT',
    `The builder's exit status could not be read (${messageOf(error)}), so its output was not used and nothing was tagged. ` +
      `Check that the engine is still running ('docker info') and build again.`,
    'builder-run',
    { cause: error },
  );
}

/**
 * A one-entry tar with its end blocks: the pair's Dockerfile.run, when the builder's tar has none. When
 * the builder's tar ended on PAX records or GNU long names that applied to nothing, Go would apply them to
 * this entry: an empty PAX global header first makes its reader drop them (the engine ignores the header).
 */
async function tarOfOneFile(name: string, content: Buffer, dropMetadata: boolean): Promise<Buffer> {
  const pack = tar.pack();
  if (dropMetadata) pack.entry({ name: 'pax_global_header', size: 0, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) }, Buffer.alloc(0));
  pack.entry({ name, size: content.length, mode: 0o644, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0) }, content);
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const part of pack) parts.push(part as Buffer);
  const archive = Buffer.concat(parts);
  if (dropMetadata) asGlobalHeader(archive.subarray(0, 512));
  return archive;
}

/** Turns an empty file's header into an empty PAX global header ('g'; tar-stream writes none). */
function asGlobalHeader(block: Buffer): void {
  block.write('g', 156, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}
