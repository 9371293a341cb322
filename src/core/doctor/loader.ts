// What the dynamic loader reads besides the binaries: /etc/ld.so.cache (glibc's list of libraries by
// name, made by ldconfig from /etc/ld.so.conf*; the loader reads the cache, never the .conf files), and
// the .conf files themselves (only to explain a library they name that the cache lacks).
import * as posix from 'node:path/posix';
import type { ImageFile } from './image-files';

const NEW_MAGIC = 'glibc-ld.so.cache1.1';
const HEADER = 48; // magic(20) nlibs(4) len_strings(4) flags(1) padding(3) extension_offset(4) unused(12)
const ENTRY = 24; // flags(4) key(4) value(4) osversion(4) hwcap(8)

/**
 * The libraries an ld.so.cache lists: name → paths, in the cache's order. Reads the format glibc has
 * written since 2.32 (also found after the old one in older caches); string offsets are from the start
 * of the new header. Undefined when the bytes hold no cache glibc would read.
 */
export function parseLdCache(bytes: Buffer): Map<string, string[]> | undefined {
  const base = bytes.indexOf(NEW_MAGIC, 0, 'latin1');
  if (base < 0 || base + HEADER > bytes.length) return undefined;
  const count = bytes.readUInt32LE(base + 20);
  if (base + HEADER + count * ENTRY > bytes.length) return undefined;
  const text = (offset: number) => {
    const start = base + offset;
    if (start >= bytes.length) return undefined;
    const end = bytes.indexOf(0, start);
    return end < 0 ? undefined : bytes.toString('latin1', start, end);
  };
  const libraries = new Map<string, string[]>();
  for (let i = 0; i < count; i++) {
    const at = base + HEADER + i * ENTRY;
    const key = text(bytes.readUInt32LE(at + 4));
    const value = text(bytes.readUInt32LE(at + 8));
    if (!key || !value) continue;
    const paths = libraries.get(key) ?? [];
    paths.push(value);
    libraries.set(key, paths);
  }
  return libraries;
}

/** Turns a shell glob of one folder's names ("*.conf") into a test. */
function globTest(pattern: string): (name: string) => boolean {
  const source = pattern
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '[^/]*')
    .replace(/\?/g, '[^/]');
  const regex = new RegExp(`^${source}$`);
  return (name) => regex.test(name);
}

/**
 * The folders /etc/ld.so.conf names, through its `include` lines, with the file that names each: what
 * ldconfig would put in the cache if it ran now.
 */
export function ldConfDirs(files: ReadonlyMap<string, ImageFile>): Array<{ dir: string; from: string }> {
  const dirs: Array<{ dir: string; from: string }> = [];
  const seen = new Set<string>();
  const read = (path: string, depth: number) => {
    const file = files.get(path);
    if (!file?.content || seen.has(path) || depth > 8) return;
    seen.add(path);
    for (const raw of file.content.toString('utf8').split('\n')) {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) continue;
      const include = /^include\s+(.+)$/.exec(line);
      if (include) {
        for (const pattern of include[1].split(/\s+/)) {
          const absolute = posix.resolve(posix.dirname(path), pattern);
          const folder = posix.dirname(absolute);
          const matches = globTest(posix.basename(absolute));
          const names = [...files.keys()].filter((p) => posix.dirname(p) === folder && matches(posix.basename(p))).sort();
          for (const name of names) read(name, depth + 1);
        }
      } else if (!/^hwcap\s/.test(line)) {
        for (const dir of line.split(/[\s:,]+/).filter(Boolean)) dirs.push({ dir: dir.replace(/=.*$/, '').replace(/\/+$/, '') || '/', from: path });
      }
    }
  };
  read('/etc/ld.so.conf', 0);
  return dirs;
}
