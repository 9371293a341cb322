// The build records behind "up to date" (pure: no engine).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { changedInputs, readRecord, writeRecord, type BuildInputs, type BuildRecord } from '../../src/core/up-to-date';

const inputs: BuildInputs = {
  engineId: 'e1',
  builderImageId: 'sha256:b1',
  builder: 'legacy',
  buildArgs: { A: '1', B: '2' },
  runtimeDockerfileSha256: 'r1',
  builderNetwork: 'none',
};
const built = (dockerfileSource: 'pair' | 'builder-output') => ({ inputs, context: { bytes: 1, entries: 1, dockerfileSource } });

describe('build records', () => {
  it('names every input that changed, and none when only the order of build args differs', () => {
    const record = built('pair');
    assert.deepEqual(changedInputs(record, { ...inputs, buildArgs: { B: '2', A: '1' } }), []);
    assert.deepEqual(changedInputs(record, { ...inputs, builderImageId: 'sha256:b2', buildArgs: { A: '1' }, builder: 'buildkit' }), [
      'the builder image changed (its sources or Dockerfile)',
      'the build args changed',
      'the builder changed (legacy → buildkit)',
    ]);
    assert.deepEqual(changedInputs(record, { ...inputs, engineId: 'e2', runtimeDockerfileSha256: 'r2' }), [
      'it was built on another engine',
      "Dockerfile.run changed (the builder runs again: its tar, the runtime build's context, is not kept between builds)",
    ]);
    assert.deepEqual(changedInputs(record, { ...inputs, builderNetwork: 'default' }), ["the builder's network changed (none → default)"]);
  });

  it('ignores Dockerfile.run when the builder wrote its own Dockerfile, which the build used instead', () => {
    assert.deepEqual(changedInputs(built('builder-output'), { ...inputs, runtimeDockerfileSha256: 'r2' }), []);
  });

  it('takes a record from before the network was an input as built with the default network', () => {
    const { builderNetwork: _, ...older } = inputs;
    assert.deepEqual(changedInputs({ ...built('pair'), inputs: older }, inputs), ["the builder's network changed (default → none)"]);
  });

  it('writes and reads a record by runtime image id, and keeps at most 500', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-records-'));
    try {
      const record = (i: number): BuildRecord => ({
        inputs,
        runtimeId: `sha256:${i}`,
        context: { bytes: 1, entries: 1, dockerfileSource: 'pair' },
        recordedAt: '',
      });
      await writeRecord(dir, record(1));
      assert.deepEqual(await readRecord(dir, 'sha256:1'), record(1));
      // The digest of the builder's inputs (the fast path's key) is kept as written.
      const withDigest = { ...record(0), builderInputs: 'a'.repeat(64) };
      await writeRecord(dir, withDigest);
      assert.equal((await readRecord(dir, 'sha256:0'))?.builderInputs, 'a'.repeat(64));
      assert.equal(await readRecord(dir, 'sha256:2'), undefined);
      for (let i = 2; i <= 505; i++) await writeRecord(dir, record(i));
      // 0 and 1 were the oldest: 504 others came after them.
      assert.equal(readdirSync(dir).length, 500);
      assert.ok(await readRecord(dir, 'sha256:505'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
