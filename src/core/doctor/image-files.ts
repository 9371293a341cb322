// The runtime image's files, from one streamed export of a never-started container: every entry's path,
// type, size and mode, plus what the doctor reads from file contents (ELF facts, a script's #! line).
// Runtime images are small, and nothing is written to disk.
import type Docker from 'dockerode';
import * as tar from 'tar-stream';
import { normaliseEntryName } from '../tar-gate';
import { ElfCapture, isElf, type ElfInfo } from './elf';

export interface ImageFile {
  /** Absolute, normalised: "/app", "/lib/x86_64-linux-gnu/libc.so.6". */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'link' | 'other';
  size: number;
  mode: number;
  /** Symlink target, or the hard link's file (absolute). */
  linkTarget?: string;
  elf?: ElfInfo;
  /** The first line of a file that starts with "#!", without the "#!". */
  shebang?: string;
}

/** The image's own settings the checks need (from `docker inspect`'s Config and platform). */
export interface ImageConfig {
  entrypoint?: string[] | null;
  cmd?: string[] | null;
  env?: string[] | null;
  workingDir?: string;
  architecture?: string;
}

const SHEBANG_BYTES = 256;

function typeOf(header: tar.Header): ImageFile['type'] {
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'link';
    default:
      return 'other';
  }
}

/** Reads one entry's data, keeping only what the doctor looks at: ELF facts, or a #! line. */
function readContents(file: ImageFile, stream: NodeJS.ReadableStream, done: () => void): void {
  let head = Buffer.alloc(0);
  let kind: 'unknown' | 'elf' | 'other' = 'unknown';
  const early: Buffer[] = []; // chunks that came before the first 4 bytes were known
  let elf: ElfCapture | undefined;
  stream.on('data', (chunk: Buffer) => {
    if (head.length < SHEBANG_BYTES) head = Buffer.concat([head, chunk.subarray(0, SHEBANG_BYTES - head.length)]);
    if (kind === 'unknown') {
      early.push(chunk);
      if (head.length < 4) return;
      kind = isElf(head) ? 'elf' : 'other';
      if (kind === 'elf') {
        elf = new ElfCapture();
        for (const part of early) elf.push(part);
      }
      early.length = 0;
      return;
    }
    elf?.push(chunk);
  });
  stream.on('end', () => {
    if (elf) file.elf = elf.info();
    else if (head.toString('latin1', 0, 2) === '#!') file.shebang = head.toString('utf8', 2).split('\n')[0].trim();
    done();
  });
}

/**
 * Lists an image's files by exporting a container made from it (never started; a scratch image without
 * a command gets a placeholder one). The container is always removed, with its volumes.
 */
export async function imageFiles(docker: Docker, ref: string): Promise<ImageFile[]> {
  const container = await docker.createContainer({ Image: ref, Cmd: ['/dockerception-inspect'], Labels: { 'org.dockerception.inspect': '1' } });
  try {
    const exported = await container.export();
    const extract = tar.extract();
    const files: ImageFile[] = [];
    extract.on('entry', (header, stream, next) => {
      const name = normaliseEntryName(header.name);
      const file: ImageFile = { path: `/${name}`.replace(/\/$/, '') || '/', type: typeOf(header), size: header.size ?? 0, mode: header.mode ?? 0 };
      if (header.linkname) file.linkTarget = file.type === 'link' ? `/${normaliseEntryName(header.linkname)}` : header.linkname;
      files.push(file);
      if (file.type === 'file' && file.size > 0) readContents(file, stream as unknown as NodeJS.ReadableStream, next);
      else {
        stream.on('end', next);
        stream.resume();
      }
    });
    await new Promise<void>((resolve, reject) => {
      extract.on('finish', resolve);
      extract.on('error', reject);
      exported.on('error', reject);
      exported.pipe(extract);
    });
    return files;
  } finally {
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }
}

/** The image settings the doctor reads, from the engine's inspect. */
export async function imageConfig(docker: Docker, ref: string): Promise<ImageConfig> {
  const info = await docker.getImage(ref).inspect();
  return {
    entrypoint: info.Config?.Entrypoint as string[] | null | undefined,
    cmd: info.Config?.Cmd,
    env: info.Config?.Env,
    workingDir: info.Config?.WorkingDir,
    architecture: info.Architecture,
  };
}
