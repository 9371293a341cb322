// Which build-cache records hold a streamed build context, from the records alone (the engine test in
// buildkit.test.ts checks the same against BuildKit). Times below are shaped like a measured listing: a
// 12 s stream's copy was made 11.6 s after its download record, and the two were last used 2 ms apart.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type Docker from 'dockerode';
import { contextRecords, removeContextRecords, type CacheRecord } from '../../src/core/buildkit-cache';

const at = (seconds: number) => new Date(Date.UTC(2026, 10, 30, 21, 0, 0) + seconds * 1000).toISOString();
const download = (id: string, created: number, lastUsed?: number) => ({
  ID: id,
  Description: `http url http://build-context-${id}`,
  CreatedAt: at(created),
  ...(lastUsed === undefined ? { InUse: true } : { LastUsedAt: at(lastUsed) }),
});
const copy = (id: string, created: number, lastUsed?: number, extra: Record<string, unknown> = {}) => ({
  ID: id,
  Description: 'fileop target',
  CreatedAt: at(created),
  ...(lastUsed === undefined ? { InUse: true } : { LastUsedAt: at(lastUsed) }),
  ...extra,
});
const ids = (records: Array<{ ID: string }>) => records.map((r) => r.ID).sort();

describe('context records', () => {
  it("pairs a long stream's copy, made 11.6 s after its download, by their last use", () => {
    const records = [download('a', 0, 12.23), copy('a-copy', 11.6, 12.228)];
    assert.deepEqual(ids(contextRecords(records, new Set())), ['a', 'a-copy']);
  });

  it('two builds at once: each download gets its own copy, not the earliest one after it', () => {
    // Build a streams for 12 s; build b starts 1 s later, streams for 3 s and ends first.
    const records = [download('a', 0, 12.23), download('b', 1, 4.61), copy('b-copy', 4.5, 4.6), copy('a-copy', 11.6, 12.228)];
    const both = contextRecords(records, new Set());
    assert.deepEqual(ids(both), ['a', 'a-copy', 'b', 'b-copy']);
    // Build b cleaning up alone (a's records were there before it started... or not yet): only its own.
    assert.deepEqual(ids(contextRecords(records, new Set(['a']))), ['b', 'b-copy']);
  });

  it("leaves what is not a context's copy: a layer an image shares, a child layer, a copy made before the download", () => {
    const records = [
      download('a', 10, 14),
      copy('shared', 12, 14, { Shared: true }),
      copy('child', 12, 14, { Parent: 'base' }),
      copy('older', 5, 14),
      copy('a-copy', 13, 14),
    ];
    assert.deepEqual(ids(contextRecords(records, new Set())), ['a', 'a-copy']);
  });

  it('while the build still holds them: the earliest copy made after the download', () => {
    const records = [download('a', 0), copy('a-copy', 3), copy('later', 6)];
    assert.deepEqual(ids(contextRecords(records, new Set())), ['a', 'a-copy']);
  });

  it('records listed before the build are never taken', () => {
    const records = [download('old', 0, 2), copy('old-copy', 1, 2)];
    assert.deepEqual(contextRecords(records, new Set(['old', 'old-copy'])), []);
  });

  it("a copy listed before with an older last use was reused by this build: it is this build's to remove", () => {
    const records = [download('b', 20, 21.4), copy('left-copy', 2, 21.402), copy('other', 1, 3)];
    // What the build's start listed: the copy a clean-up missed (last used at 3 s), another untouched record.
    const before = new Map([
      ['left-copy', at(3)],
      ['other', at(3)],
    ]);
    assert.deepEqual(ids(contextRecords(records, before)), ['b', 'left-copy']);
    // Listed before and not used since: not this build's.
    assert.deepEqual(ids(contextRecords([download('b', 20, 21.4), copy('left-copy', 2, 3)], before)), ['b']);
  });
});

describe('removing context records, replayed from a listing', () => {
  /** Replays `looks` (one listing per look, the last repeated) and records what was pruned. */
  async function replay(looks: CacheRecord[][], before: Map<string, string | undefined>) {
    const pruned: string[] = [];
    let look = 0;
    const removed = await removeContextRecords({} as Docker, before, {
      list: async () => looks[Math.min(look++, looks.length - 1)].filter((r) => !pruned.includes(r.ID)),
      prune: async (id) => (pruned.push(id), 1),
    });
    return { pruned: pruned.sort(), removed, looks: look };
  }

  it('waits while the build holds a record: the copy BuildKit lists only once it is committed is the one removed', async () => {
    // Listings of a real BuildKit build on this engine (20.10.24), where the clean-up that paired at the first
    // look removed the held transient record and left the copy (made 0.04 s after the download, listed 0.3 s later).
    const first = [copy('transient', 29.985), download('d', 29.803, 30.013)];
    const second = [copy('the-copy', 29.844, 30.023), download('d', 29.803, 30.013)];
    const result = await replay([first, second], new Map());
    assert.deepEqual(result.pruned, ['d', 'the-copy']);
    assert.equal(result.removed, 2);
    assert.equal(result.looks, 2);
  });

  it('a download with no copy (a build that never read its context): removed at the first look, nothing waited for', async () => {
    const result = await replay([[download('d', 1, 1.05), copy('older', 0, 0.5)]], new Map([['older', at(0.5)]]));
    assert.deepEqual(result.pruned, ['d']);
    assert.equal(result.looks, 1);
  });
});
