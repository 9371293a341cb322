import { createReadStream, promises as fs } from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import ignore from '@balena/dockerignore';
import * as tar from 'tar-stream';
import { BUILDER_DOCKERFILE } from './pairs';

/** One thing the builder's build context holds, as the Docker CLI would send it. */
export interface ContextEntry {
  /** Relative POSIX path; directories end in '/'. */
  name: string;
  absPath: string;
  type: 'file' | 'directory' | 'symlink';
  size: number;
  mode: number;
  mtime: Date;
  linkname?: string;
}

interface IgnoreRules {
  ignores(relPath: string): boolean;
  /** Cleaned patterns of the `!exception` lines, without the '!'. */
  exceptions: string[];
}

/**
 * Reads DIR/.dockerignore the way the Docker CLI does: Docker's own matcher semantics (through
 * @balena/dockerignore), and the Dockerfile and .dockerignore are always sent even when a pattern
 * matches them (the CLI appends `!Dockerfile` and `!.dockerignore` in that case).
 */
async function readIgnoreRules(dir: string, dockerfile: string): Promise<IgnoreRules> {
  const text = await fs.readFile(path.join(dir, '.dockerignore'), 'utf8').catch(() => '');
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const matcher = ignore().add(lines);
  for (const always of ['.dockerignore', dockerfile]) {
    if (matcher.ignores(always)) matcher.add(`!${always}`);
  }
  const exceptions = lines.filter((line) => line.startsWith('!')).map((line) => path.posix.normalize(line.slice(1).trim()).replace(/^\/+/, ''));
  return { ignores: (rel) => matcher.ignores(rel), exceptions };
}

/**
 * Walks DIR in lexical order (as Go's filepath.Walk does) and yields what the CLI would send. An excluded
 * directory is pruned only when no `!exception` pattern starts inside it; otherwise it is entered but
 * not sent itself, so that its re-included files still are (Docker's archive.TarWithOptions).
 */
export async function* walkContext(dir: string, dockerfile = BUILDER_DOCKERFILE): AsyncGenerator<ContextEntry> {
  const root = path.resolve(dir);
  const rules = await readIgnoreRules(root, dockerfile);

  async function* visit(relDir: string): AsyncGenerator<ContextEntry> {
    const absDir = path.join(root, relDir);
    const names = (await fs.readdir(absDir)).sort();
    for (const name of names) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const absPath = path.join(absDir, name);
      const stat = await fs.lstat(absPath);
      const skip = rules.ignores(rel);
      if (stat.isDirectory()) {
        if (skip && !rules.exceptions.some((pattern) => `${pattern}/`.startsWith(`${rel}/`))) continue;
        if (!skip) yield { name: `${rel}/`, absPath, type: 'directory', size: 0, mode: stat.mode & 0o7777, mtime: stat.mtime };
        yield* visit(rel);
      } else if (skip) {
        continue;
      } else if (stat.isSymbolicLink()) {
        const linkname = await fs.readlink(absPath);
        yield { name: rel, absPath, type: 'symlink', size: 0, mode: stat.mode & 0o7777, mtime: stat.mtime, linkname };
      } else if (stat.isFile()) {
        yield { name: rel, absPath, type: 'file', size: stat.size, mode: stat.mode & 0o7777, mtime: stat.mtime };
      }
      // Sockets, FIFOs and devices are not sent (the CLI cannot send them meaningfully either).
    }
  }
  yield* visit('');
}

/** Sees what packContext sends, as it sends it: each entry, then a file's content, then the end. */
export interface ContextObserver {
  entry(entry: ContextEntry): void;
  data(chunk: Buffer): void;
  /** Every entry was sent. */
  end(): void;
}

/**
 * The builder's build context as a tar stream, produced file by file with backpressure: nothing is
 * held in memory beyond the stream's buffers. Owners are written as uid/gid 0 with no names, so that
 * rootless/userns engines accept the archive and cache keys do not depend on who checked the code out.
 */
export function packContext(dir: string, dockerfile = BUILDER_DOCKERFILE, observer?: ContextObserver): Readable {
  const pack = tar.pack();
  const addEntry = (entry: ContextEntry): Promise<void> =>
    new Promise((resolve, reject) => {
      const header: tar.Header = {
        name: entry.name,
        type: entry.type,
        mode: entry.mode,
        mtime: entry.mtime,
        size: entry.size,
        uid: 0,
        gid: 0,
        uname: '',
        gname: '',
        linkname: entry.linkname ?? '',
        devmajor: 0,
        devminor: 0,
      };
      observer?.entry(entry);
      if (entry.type !== 'file') {
        pack.entry(header, (err) => (err ? reject(err) : resolve()));
        return;
      }
      const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
      // tar-stream's sinks are streamx streams: feed them by hand, honouring their backpressure.
      (async () => {
        for await (const chunk of createReadStream(entry.absPath)) {
          observer?.data(chunk as Buffer);
          if (!sink.write(chunk as Buffer)) await once(sink as unknown as NodeJS.EventEmitter, 'drain');
        }
        sink.end(null);
      })().catch(reject);
    });

  (async () => {
    for await (const entry of walkContext(dir, dockerfile)) await addEntry(entry);
    observer?.end();
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  // A Node stream for dockerode (tar-stream's pack is a streamx stream); iteration keeps backpressure.
  return Readable.from(pack, { objectMode: false });
}
