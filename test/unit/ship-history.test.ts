// Pushes recorded with a pair's builds (a file per push, atomic), and the Build All table's pull column.
// Pure: no engine.
import * as assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { outcomeTable, shippedOutcomeJson, type PairOutcome } from '../../src/core/build-all';
import { addPairBuild, addPairPush, lastPairPush, pairBuilds, pairPushes, type PairPush } from '../../src/core/history';

const dirs: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-ship-history-'));
  dirs.push(dir);
  return dir;
};
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const push = (runtimeId: string, at: string, ref = 'registry.example:5000/app:1', pullSize: number | null = 1234): PairPush => ({
  runtimeId,
  ref,
  digest: `sha256:${runtimeId.slice(-1).repeat(64)}`,
  canonical: `registry.example:5000/app@sha256:${runtimeId.slice(-1).repeat(64)}`,
  pullSize: pullSize ?? undefined,
  pushedAt: at,
});

describe('pushes recorded with the builds', () => {
  it('a push goes with the build of the image it pushed; the latest is found by image', async () => {
    const records = tmp();
    await addPairBuild(records, 'k', { runtimeId: 'sha256:a', size: 10, recordedAt: '2026-11-30T10:00:00.000Z' });
    await addPairBuild(records, 'k', { runtimeId: 'sha256:b', size: 12, recordedAt: '2026-11-30T11:00:00.000Z' });
    await addPairPush(records, 'k', push('sha256:a', '2026-11-30T10:05:00.000Z'));
    await addPairPush(records, 'k', push('sha256:b', '2026-11-30T11:05:00.000Z', 'registry.example:5000/app:1', null));
    await addPairPush(records, 'k', push('sha256:a', '2026-11-30T10:06:00.000Z', 'registry.example:5000/app:stable'));
    const builds = await pairBuilds(records, 'k');
    assert.deepEqual(
      builds.map((b) => [b.runtimeId, b.pushes?.map((p) => p.ref)]),
      [
        ['sha256:a', ['registry.example:5000/app:1', 'registry.example:5000/app:stable']],
        ['sha256:b', ['registry.example:5000/app:1']],
      ],
    );
    assert.equal((await lastPairPush(records, 'k', 'sha256:a'))?.ref, 'registry.example:5000/app:stable');
    assert.equal((await lastPairPush(records, 'k', 'sha256:b'))?.pullSize, undefined, 'a pull size the registry could not give stays unknown');
    assert.equal((await lastPairPush(records, 'k'))?.runtimeId, 'sha256:b');
    assert.equal(await lastPairPush(records, 'k', 'sha256:c'), undefined);
    assert.equal((await pairPushes(records, 'nobody')).length, 0);
  });

  it('a file that is not a push is ignored; the last 50 pushes are kept', async () => {
    const records = tmp();
    await addPairPush(records, 'k', push('sha256:a', '2026-11-30T09:00:00.000Z'));
    const folder = path.join(records, 'pairs', 'k', 'pushes');
    writeFileSync(path.join(folder, 'broken.json'), '{"runtimeId": 1');
    writeFileSync(path.join(folder, 'other.json'), '{"runtimeId": "sha256:a"}');
    assert.equal((await pairPushes(records, 'k')).length, 1);
    for (let i = 0; i < 55; i++) await addPairPush(records, 'k', push('sha256:a', `2026-11-30T10:${String(i).padStart(2, '0')}:00.000Z`));
    const kept = await pairPushes(records, 'k');
    assert.ok(kept.length <= 50, `${kept.length} kept`);
    assert.equal(kept.at(-1)?.pushedAt, '2026-11-30T10:54:00.000Z');
  });

  it('two processes recording at once both keep theirs (a file each, renamed into place)', async () => {
    const records = tmp();
    const script = path.join(tmp(), 'writer.js');
    const history = require.resolve('../../src/core/history');
    writeFileSync(
      script,
      `const h = require(${JSON.stringify(history)});
       const [records, who] = process.argv.slice(2);
       (async () => { for (let i = 0; i < 20; i++) await h.addPairPush(records, 'k', { runtimeId: 'sha256:' + who, ref: 'r/' + who + ':' + i, digest: 'sha256:' + i, canonical: 'r@sha256:' + i, pullSize: i, pushedAt: new Date(Date.UTC(2026, 10, 30, 10, i)).toISOString() }); })();`,
    );
    await Promise.all(['x', 'y'].map((who) => new Promise((resolve) => fork(script, [records, who]).on('exit', resolve))));
    const all = await pairPushes(records, 'k');
    assert.equal(all.filter((p) => p.runtimeId === 'sha256:x').length, 20);
    assert.equal(all.filter((p) => p.runtimeId === 'sha256:y').length, 20);
    assert.deepEqual(
      readdirSync(path.join(records, 'pairs', 'k', 'pushes')).filter((n) => n.endsWith('.tmp')),
      [],
    );
  });
});

describe("Build All's table with pushes", () => {
  const outcome = (name: string, result: PairOutcome['result']): PairOutcome => ({
    pair: { name, dir: `/w/${name}`, builderDockerfile: `/w/${name}/Dockerfile`, runtimeDockerfile: `/w/${name}/Dockerfile.run` },
    runtimeTag: name,
    result,
    builder: result === 'failed' ? undefined : { tag: `${name}-builder`, id: 'sha256:b', size: 846_000_000 },
    runtime: result === 'failed' ? undefined : { tag: name, id: 'sha256:r', size: 4_460_000 },
    ms: 1500,
    needs: [],
    findings: 0,
  });

  it("a 'pull' column after 'runtime' only when pushed; the JSON carries digest and pullSize", () => {
    const outcomes = [outcome('api', 'built'), outcome('web', 'failed')];
    assert.doesNotMatch(outcomeTable(outcomes).split('\n')[0], /pull/);
    const pushes = new Map([['/w/api', { canonical: 'r/api@sha256:1', digest: 'sha256:1', pullSize: 1_900_000 }]]);
    const lines = outcomeTable(outcomes, pushes).split('\n');
    assert.match(lines[0], /^pair\s+result\s+builder\s+runtime\s+pull\s+smaller\s+time$/);
    assert.match(lines[1], /^api\s+built\s+846 MB\s+4\.46 MB\s+1\.9 MB\s+190×\s+1\.5 s$/);
    assert.match(lines[2], /^web\s+failed\s+-\s+-\s+-\s+-\s+1\.5 s$/);
    assert.ok(lines.includes('api: pushed r/api@sha256:1'));
    const json = shippedOutcomeJson(outcomes[0], pushes.get('/w/api'));
    assert.equal(json.digest, 'sha256:1');
    assert.equal(json.pullSize, 1_900_000);
    assert.equal('digest' in shippedOutcomeJson(outcomes[1], undefined), false);
  });
});
