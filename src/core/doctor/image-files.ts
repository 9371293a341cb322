// The runtime image's files, from one streamed export of a never-started container: every entry's path,
// type, size and mode, plus what the doctor reads from file contents (ELF facts, a script's #! line).
// Runtime images are small, and nothing is written to disk.
import type Docker from 'dockerode';
import * as tar from 'tar-stream';
import { normaliseEntryName } from '../tar/entry-rules';
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
  /** The first line of a file that starts with "#!", without the "#!" (as the kernel reads it: a "\r" stays). */
  shebang?: string;
  /** What the kernel would make of a regular file: an ELF file, a #! script, or neither ("exec format error"). */
  format?: 'elf' | 'script' | 'other';
  /** The bytes of the loader's configuration files (/etc/ld.so.cache, /etc/ld.so.conf*, /etc/ld-musl-*.path). */
  content?: Buffer;
}

/** The image's own settings the checks need (from `docker inspect`'s Config and platform). */
export interface ImageConfig {
  entrypoint?: string[] | null;
  cmd?: string[] | null;
  env?: string[] | null;
  workingDir?: string;
  architecture?: string;
}

/** The kernel reads this much of a #! line (BINPRM_BUF_SIZE). */
const SHEBANG_BYTES = 256;
/** The loader's configuration files, whose bytes are kept (up to MAX_CONTENT). */
export const CONFIG_FILE = /^\/etc\/(ld\.so\.cache|ld\.so\.conf|ld\.so\.conf\.d\/[^/]+|ld-musl-[^/]+\.path)$/;
const MAX_CONTENT = 8 * 1024 * 1024;
/** A glibc loader, whose default directories are read from its bytes. */
export const LOADER_NAME = /^(ld-linux[^/]*\.so(\.\d+)*|ld64\.so\.\d+|ld\.so\.\d+)$/;

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

/**
 * What the doctor keeps of one regular file's data as it streams past: ELF facts, a #! line, a loader
 * configuration file's bytes. Fed chunk by chunk (copied where kept: a stream may reuse its buffers);
 * end() writes what was found into the file. Used on an image's export and on the builder's tar alike.
 */
export class ContentSniffer {
  private head = Buffer.alloc(0);
  private kind: 'unknown' | 'elf' | 'other' = 'unknown';
  private readonly early: Buffer[] = []; // chunks that came before the first 4 bytes were known
  private elf: ElfCapture | undefined;
  private readonly content: Buffer[] | undefined;

  /** keepContent: keep the bytes whatever the path (a file that may be copied to a loader configuration file's path). */
  constructor(
    private readonly file: ImageFile,
    keepContent = CONFIG_FILE.test(file.path),
  ) {
    this.content = keepContent && file.size <= MAX_CONTENT ? [] : undefined;
  }

  push(chunk: Buffer): void {
    this.content?.push(Buffer.from(chunk));
    if (this.head.length < SHEBANG_BYTES) this.head = Buffer.concat([this.head, chunk.subarray(0, SHEBANG_BYTES - this.head.length)]);
    if (this.kind === 'unknown') {
      this.early.push(Buffer.from(chunk));
      if (this.head.length < 4) return;
      this.kind = isElf(this.head) ? 'elf' : 'other';
      if (this.kind === 'elf') {
        this.elf = new ElfCapture(LOADER_NAME.test(this.file.path.slice(this.file.path.lastIndexOf('/') + 1)));
        for (const part of this.early) this.elf.push(part);
      }
      this.early.length = 0;
      return;
    }
    this.elf?.push(chunk);
  }

  end(): void {
    const { file } = this;
    if (this.content) file.content = Buffer.concat(this.content);
    if (this.elf) {
      file.format = 'elf';
      file.elf = this.elf.info();
    } else if (this.head.toString('latin1', 0, 2) === '#!') {
      file.format = 'script';
      file.shebang = this.head.toString('utf8', 2).split('\n')[0];
    } else file.format = 'other';
  }
}

/** Reads one entry's data, keeping only what the doctor looks at: ELF facts, a #! line, a loader configuration file. */
function readContents(file: ImageFile, stream: NodeJS.ReadableStream, done: () => void): void {
  const sniffer = new ContentSniffer(file);
  stream.on('data', (chunk: Buffer) => sniffer.push(chunk));
  stream.on('end', () => {
    sniffer.end();
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
        if (file.type === 'file') file.format = 'other'; // empty: "exec format error"
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
