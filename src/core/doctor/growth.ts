// What grew: each successful build keeps its runtime image's file listing (bounded), and a build is
// compared with the pair's build before it, file by file.
import type { ImageFile } from './image-files';

/** One regular file of a runtime image, as kept between builds. */
export interface FileEntry {
  path: string;
  size: number;
  mode: number;
}

export interface FileChange {
  path: string;
  change: 'added' | 'removed' | 'grown' | 'shrunk';
  /** Bytes before and after (0 when the file was not there). */
  before: number;
  after: number;
  delta: number;
}

/** A listing keeps at most this many files, the largest: the rest cannot weigh much. */
export const MAX_LISTED_FILES = 2_000;

/** The listing kept for a build: regular files, largest first, at most MAX_LISTED_FILES. */
export function listingOf(files: readonly ImageFile[]): { files: FileEntry[]; truncated: boolean } {
  const regular = files.filter((f) => f.type === 'file').map((f) => ({ path: f.path, size: f.size, mode: f.mode & 0o7777 }));
  regular.sort((a, b) => b.size - a.size || a.path.localeCompare(b.path));
  return { files: regular.slice(0, MAX_LISTED_FILES), truncated: regular.length > MAX_LISTED_FILES };
}

/** Files added, removed, grown or shrunk between two listings, the largest change in bytes first. */
export function fileChanges(before: readonly FileEntry[], after: readonly FileEntry[]): FileChange[] {
  const old = new Map(before.map((f) => [f.path, f.size]));
  const changes: FileChange[] = [];
  for (const file of after) {
    const was = old.get(file.path);
    old.delete(file.path);
    if (was === undefined) changes.push({ path: file.path, change: 'added', before: 0, after: file.size, delta: file.size });
    else if (was !== file.size)
      changes.push({ path: file.path, change: file.size > was ? 'grown' : 'shrunk', before: was, after: file.size, delta: file.size - was });
  }
  for (const [path, size] of old) changes.push({ path, change: 'removed', before: size, after: 0, delta: -size });
  return changes.sort((a, b) => Math.abs(b.delta) - Math.abs(a.delta) || a.path.localeCompare(b.path));
}
