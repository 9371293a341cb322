// Tars made in memory for the tests (pure: no engine).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar-stream';

export interface TarEntrySpec {
  name: string;
  content?: string | Buffer;
  type?: tar.Header['type'];
  linkname?: string;
  mode?: number;
}

/** A tar made with tar-stream (end-of-archive blocks included). */
export async function makeTar(entries: TarEntrySpec[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const entry of entries) {
    const content = entry.content === undefined ? undefined : Buffer.from(entry.content);
    pack.entry(
      { name: entry.name, type: entry.type ?? 'file', linkname: entry.linkname, size: content?.length ?? 0, mode: entry.mode ?? 0o644 },
      content ?? Buffer.alloc(0),
    );
  }
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const part of pack) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** Rewrites a ustar header block in place as a v7 one (no magic, no version) with a fresh checksum. */
export function toV7(archive: Buffer, headerOffset: number): void {
  archive.fill(0, headerOffset + 257, headerOffset + 512);
  writeChecksum(archive, headerOffset);
}

export function writeChecksum(archive: Buffer, headerOffset: number): void {
  archive.fill(0x20, headerOffset + 148, headerOffset + 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += archive[headerOffset + i];
  archive.write(`${sum.toString(8).padStart(6, '0')}\0 `, headerOffset + 148, 'latin1');
}

/** The entry names of a tar, read by tar-stream's extract (the reference reader of the gate tests). */
export async function tarNames(archive: Buffer): Promise<string[]> {
  const extract = tar.extract();
  const names: string[] = [];
  extract.on('entry', (header, stream, next) => {
    names.push(header.name);
    stream.on('end', () => next());
    stream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(archive);
  });
  return names;
}

// ---- Raw tar blocks, any field as the test says (for the Go oracle corpus and generator) ----

export type Magic = 'v7' | 'ustar' | 'gnu' | 'star' | { magic: string; version: string };

export interface RawFields {
  /** Bytes of the name field (a string is taken as latin1, one char per byte). */
  name?: string | Buffer;
  linkname?: string | Buffer;
  /** The typeflag byte; '\0' for v7 regular files. */
  typeflag?: string;
  /** A number (octal, or base-256 when it does not fit), or the field's raw bytes. */
  size?: number | bigint | Buffer;
  mode?: number | Buffer;
  uid?: Buffer;
  mtime?: Buffer;
  devmajor?: Buffer;
  magic?: Magic;
  /** Bytes at 345.. (the ustar prefix; GNU's atime/ctime). */
  prefix?: string | Buffer;
  /** Old GNU sparse header: entries at 386, the extended flag at 482, real size at 483. */
  gnuSparse?: { entries: Array<[number, number]>; extended: boolean; realSize: number | Buffer };
  /** 'signed' sums bytes as signed (Sun tar); 'wrong' is off by one; 'base256' writes it base-256. */
  checksum?: 'unsigned' | 'signed' | 'wrong' | 'base256';
}

function put(block: Buffer, at: number, length: number, value: string | Buffer | undefined): void {
  if (value === undefined) return;
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  bytes.copy(block, at, 0, Math.min(length, bytes.length));
}

/** A numeric field: octal with a NUL when it fits, else base-256 (two's complement for negatives). */
export function numField(value: number | bigint, length: number): Buffer {
  const v = BigInt(value);
  const out = Buffer.alloc(length);
  if (v >= 0n && v < 8n ** BigInt(length - 1)) {
    out.write(v.toString(8).padStart(length - 1, '0'), 'latin1');
    return out;
  }
  let x = BigInt.asUintN(8 * length, v);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  out[0] |= 0x80;
  return out;
}

export function rawHeader(f: RawFields): Buffer {
  const block = Buffer.alloc(512);
  put(block, 0, 100, f.name ?? 'file');
  put(block, 100, 8, Buffer.isBuffer(f.mode) ? f.mode : numField(f.mode ?? 0o644, 8));
  put(block, 108, 8, f.uid ?? numField(0, 8));
  put(block, 116, 8, numField(0, 8));
  const size = f.size ?? 0;
  put(block, 124, 12, Buffer.isBuffer(size) ? size : numField(size, 12));
  put(block, 136, 12, f.mtime ?? numField(0, 12));
  block.write(f.typeflag ?? '0', 156, 'latin1');
  put(block, 157, 100, f.linkname);
  const magic = f.magic ?? 'ustar';
  if (magic === 'ustar' || magic === 'star') put(block, 257, 8, 'ustar\x0000');
  else if (magic === 'gnu') put(block, 257, 8, 'ustar  \0');
  else if (magic !== 'v7') put(block, 257, 8, magic.magic + magic.version);
  if (magic === 'star') put(block, 508, 4, 'tar\0');
  if (magic !== 'v7') {
    put(block, 329, 8, f.devmajor ?? numField(0, 8));
    put(block, 337, 8, numField(0, 8));
  }
  put(block, 345, 155, f.prefix);
  if (f.gnuSparse) {
    f.gnuSparse.entries.slice(0, 4).forEach(([offset, length], i) => {
      put(block, 386 + i * 24, 12, numField(offset, 12));
      put(block, 398 + i * 24, 12, numField(length, 12));
    });
    block[482] = f.gnuSparse.extended ? 1 : 0;
    const real = f.gnuSparse.realSize;
    put(block, 483, 12, Buffer.isBuffer(real) ? real : numField(real, 12));
  }
  block.fill(0x20, 148, 156);
  let unsigned = 0;
  let signed = 0;
  for (const byte of block) {
    unsigned += byte;
    signed += byte < 128 ? byte : byte - 256;
  }
  const mode = f.checksum ?? 'unsigned';
  const sum = mode === 'signed' ? signed : mode === 'wrong' ? unsigned + 1 : unsigned;
  if (mode === 'base256') numField(-1n - BigInt(sum), 8).copy(block, 148);
  else block.write(`${(sum < 0 ? 0 : sum).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

/** An old GNU sparse extension block. */
export function sparseExtensionBlock(entries: Array<[number, number]>, extended: boolean): Buffer {
  const block = Buffer.alloc(512);
  entries.slice(0, 21).forEach(([offset, length], i) => {
    numField(offset, 12).copy(block, i * 24);
    numField(length, 12).copy(block, i * 24 + 12);
  });
  block[504] = extended ? 1 : 0;
  return block;
}

/** Data padded to whole blocks. */
export function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/** One PAX record with its correct length prefix. */
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let n = Buffer.byteLength(body, 'latin1') + 1;
  while (`${n}${body}`.length !== n) n = `${n}${body}`.length;
  return `${n}${body}`;
}

/** A PAX x or g header and its records. Records are [key, value] pairs or raw record text. */
export function paxHeader(typeflag: 'x' | 'g', records: Array<[string, string] | string>, fields: RawFields = {}): Buffer {
  const data = Buffer.from(records.map((r) => (typeof r === 'string' ? r : paxRecord(r[0], r[1]))).join(''), 'latin1');
  return Buffer.concat([rawHeader({ name: 'PaxHeaders/x', ...fields, typeflag, size: data.length }), padded(data)]);
}

/** A GNU long name (L) or long link (K) header and its data (NUL-terminated unless told). */
export function gnuLong(typeflag: 'L' | 'K', value: string, nul = true): Buffer {
  const data = Buffer.from(nul ? `${value}\0` : value, 'latin1');
  return Buffer.concat([rawHeader({ name: '././@LongLink', typeflag, size: data.length, magic: 'gnu' }), padded(data)]);
}

/** A header and its data; the size field is the data's length unless fields.size says otherwise. */
export function member(fields: RawFields, data: Buffer | string = Buffer.alloc(0)): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  return Buffer.concat([rawHeader({ size: bytes.length, ...fields }), padded(bytes)]);
}

export const zeroBlocks = (n: number): Buffer => Buffer.alloc(512 * n);

// ---- The oracle: Go's archive/tar (test/oracles/gotar), built with the machine's Go toolchain ----

export interface GoEntry {
  typeflag: string;
  name: string;
  linkname: string;
  size: bigint;
}

/** What Go's Next() loop saw: its entries, then io.EOF after `eof` bytes, or an error. */
export interface GoRead {
  entries: GoEntry[];
  eof?: number;
  error?: string;
}

function repoRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = up;
  }
  return dir;
}

let built: { binary: string; version: string } | undefined;

/** Builds the oracle into .cache/gotar once per process; fails (never skips) when Go is missing. */
export function goTar(): { binary: string; version: string } {
  if (built) return built;
  const root = repoRoot();
  const cache = path.join(root, '.cache');
  const binary = path.join(cache, 'gotar', 'gotar');
  const env = {
    ...process.env,
    GOCACHE: path.join(cache, 'go-build'),
    GOPATH: path.join(cache, 'gopath'),
    GOFLAGS: '-mod=mod',
    GO111MODULE: 'on',
    GOTOOLCHAIN: 'local',
  };
  const result = spawnSync('go', ['build', '-o', binary, '.'], { cwd: path.join(root, 'test', 'oracles', 'gotar'), env, encoding: 'utf8' });
  if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      "The tar oracle needs Go's toolchain ('go', Debian's golang-go) and it is not installed: run `npm run setup` (or `apt-get install golang-go`).",
    );
  }
  if (result.status !== 0) throw new Error(`Building the tar oracle (test/oracles/gotar) failed: ${result.stderr || result.error?.message}`);
  const version = spawnSync(binary, [], { input: Buffer.alloc(0), encoding: 'utf8' })
    .stdout.trim()
    .replace(/^go /, '');
  built = { binary, version };
  return built;
}

/** Reads every archive with Go's archive/tar in one process. `broken`: the stream errors after the bytes instead of ending. */
export function goRead(archives: Buffer[], options: { broken?: boolean } = {}): GoRead[] {
  const { binary } = goTar();
  const parts: Buffer[] = [];
  for (const archive of archives) {
    const head = Buffer.alloc(9);
    head[0] = options.broken ? 1 : 0;
    head.writeBigUInt64BE(BigInt(archive.length), 1);
    parts.push(head, archive);
  }
  const result = spawnSync(binary, [], { input: Buffer.concat(parts), maxBuffer: 1 << 30, encoding: 'latin1' });
  if (result.status !== 0) throw new Error(`The tar oracle failed (exit ${result.status}): ${result.stderr}`);
  const lines = result.stdout.split('\n');
  const reads: GoRead[] = [];
  let current: GoRead = { entries: [] };
  const text = (hex: string) => (hex === '-' ? '' : Buffer.from(hex, 'hex').toString('utf8'));
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const [kind, a, b, c, d] = line.split(' ');
    if (kind === 'E') current.entries.push({ typeflag: String.fromCharCode(Number(a)), name: text(b), linkname: text(c), size: BigInt(d) });
    else {
      if (kind === 'EOF') current.eof = Number(a);
      else current.error = line.split(' ').slice(2).join(' ');
      reads.push(current);
      current = { entries: [] };
    }
  }
  if (reads.length !== archives.length) throw new Error(`The tar oracle answered for ${reads.length} of ${archives.length} archives`);
  return reads;
}
