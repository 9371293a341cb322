// The build records behind "up to date" (pure: no engine).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { changedInputs, readRecord, writeRecord, type BuildInputs, type BuildRecord } from '../../src/core/up-to-date';

const inputs: BuildInputs = { engineId: 'e1', builderImageId: 'sha256:b1', builder: 'legacy', buildArgs: { A: '1', B: '2' }, runtimeDockerfileSha256: 'r1' };

describe('build records', () => {
  it('names every input that changed, and none when only the order of build args differs', () => {
    assert.deepEqual(changedInputs(inputs, { ...inputs, buildArgs: { B: '2', A: '1' } }), []);
    assert.deepEqual(changedInputs(inputs, { ...inputs, builderImageId: 'sha256:b2', buildArgs: { A: '1' }, builder: 'buildkit' }), [
      'the builder image changed (its sources or Dockerfile)',
      'the build args changed',
      'the builder changed (legacy → buildkit)',
    ]);
    assert.deepEqual(changedInputs(inputs, { ...inputs, engineId: 'e2', runtimeDockerfileSha256: 'r2' }), ['it was built on another engine', 'Dockerfile.run changed']);
  });

  it('writes and reads a record by runtime image id, and keeps at most 500', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-records-'));
    try {
      const record = (i: number): BuildRecord => ({ inputs, runtimeId: `sha256:${i}`, context: { bytes: 1, entries: 1, dockerfileSource: 'pair' }, recordedAt: '' });
      await writeRecord(dir, record(1));
      assert.deepEqual(await readRecord(dir, 'sha256:1'), record(1));
      assert.equal(await readRecord(dir, 'sha256:2'), undefined);
      for (let i = 2; i <= 505; i++) await writeRecord(dir, record(i));
      assert.equal(readdirSync(dir).length, 500);
      assert.ok(await readRecord(dir, 'sha256:505'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
