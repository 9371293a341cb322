// Which build-cache records hold a streamed build context, from the records alone (the engine test in
// buildkit.test.ts checks the same against BuildKit). Times below are shaped like a measured listing: a
// 12 s stream's copy was made 11.6 s after its download record, and the two were last used 2 ms apart.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contextRecords } from '../../src/core/buildkit-cache';

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
});
