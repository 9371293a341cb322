// Where an entry lands in the build context, by the rules of Docker's untar (pkg/archive): names are
// cleaned and joined onto the context root, so a leading '/' stays inside; a symlink's target is joined
// onto the link's folder (an absolute target onto the root), a hard link's onto the root. Docker runs
// that untar in a chroot, so even a climbing name or link lands inside; we refuse those instead, since
// no working builder writes them and what they would build is not what the builder meant.
import * as path from 'node:path';

export type EntryType = 'file' | 'link' | 'symlink' | 'directory' | 'device' | 'fifo' | 'other';

/** One member of the builder's tar as Go's Reader.Next() returns it: PAX records, GNU long names and
 * sparse names applied; a PAX g header is an entry too (typeflag 'g'). */
export interface TarEntry {
  name: string;
  /** The typeflag as Go reports it (a v7 '\0' is already '0' or, with a trailing '/', '5'). */
  typeflag: string;
  type: EntryType;
  linkname: string;
  /** Go's Header.Size: the size field (or PAX size, or a sparse file's real size), also for header-only types. */
  size: bigint;
  mode: number;
  /** Offset of the entry's (first) header block in the tar. */
  offset: number;
}

/** The entry's path inside the context root, relative and clean ('' is the root itself), or undefined
 * when the name climbs out of the root. */
export function contextPath(name: string): string | undefined {
  const cleaned = path.posix.normalize(name === '' ? '.' : name);
  if (cleaned.startsWith('/')) return cleaned.slice(1).replace(/\/+$/, '');
  if (cleaned === '..' || cleaned.startsWith('../')) return undefined;
  return cleaned === '.' || cleaned === './' ? '' : cleaned.replace(/\/+$/, '');
}

/** `./a/b` → `a/b`, `/a` → `a`, `./` → ``: the name as the context will hold it (unchanged if it climbs out). */
export function normaliseEntryName(name: string): string {
  return contextPath(name) ?? name;
}

/** Why the entry would land outside the build context, or undefined when it stays inside. */
export function unsafeReason(entry: Pick<TarEntry, 'name' | 'type' | 'linkname'>): string | undefined {
  const at = contextPath(entry.name);
  if (at === undefined) return `name '${entry.name}' climbs out of the context with '..'`;
  const target = entry.linkname;
  if (entry.type === 'link' && contextPath(target) === undefined) {
    return `hard link '${entry.name}' → '${target}' points outside the context`;
  }
  if (entry.type === 'symlink' && !target.startsWith('/') && contextPath(path.posix.join(path.posix.dirname(at || '.'), target)) === undefined) {
    return `symlink '${entry.name}' → '${target}' points outside the context`;
  }
  return undefined;
}

/** Whether the entry is the context's root Dockerfile, the one the engine builds with by default
 * (the legacy builder falls back to 'dockerfile'). A link counts: the engine follows it. */
export function isRootDockerfile(entry: Pick<TarEntry, 'name' | 'type'>): boolean {
  const at = contextPath(entry.name);
  return (at === 'Dockerfile' || at === 'dockerfile') && entry.type !== 'directory';
}

/** The entry type of a typeflag, as Go's reader maps them ('\0' with a trailing '/' is a v7 directory). */
export function entryType(typeflag: string, name: string): EntryType {
  switch (typeflag) {
    case '0':
    case '7':
    case 'S': // GNU sparse: a regular file once its holes are filled
      return 'file';
    case '\0':
      return name.endsWith('/') ? 'directory' : 'file';
    case '1':
      return 'link';
    case '2':
      return 'symlink';
    case '3':
    case '4':
      return 'device';
    case '5':
      return 'directory';
    case '6':
      return 'fifo';
    default:
      return 'other';
  }
}
