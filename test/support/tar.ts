// Tars made in memory for the tests (pure: no engine).
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
