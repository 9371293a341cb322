// Dockerception's own state under concurrency and kills: whole files or none, nothing lost when two
// processes add builds at once, no temporary file outliving a killed writer. Pure: no engine.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, watch, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/core/doctor';
import { guardRefusal, refusingFindings } from '../../src/core/pipeline';
import { addPairBuild, pairBuilds } from '../../src/core/history';
import { sweepTemporaryFiles } from '../../src/core/state-files';
import { readRecord, writeRecord, type BuildRecord } from '../../src/core/up-to-date';

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-state-'));
  dirs.push(dir);
  return dir;
};

test('two processes adding builds to one pair at once: every build is kept', async () => {
  // Both start on the same signal (a byte on stdin), so that their writes overlap every time.
  const adder = `
    const [core, dir, who] = process.argv.slice(1);
    const { addPairBuild } = require(core + '/history');
    process.stdin.once('data', async () => {
      try {
        const at = Date.now();
        for (let i = 0; i < 9; i++) await addPairBuild(dir, 'k', { runtimeId: 'sha256:' + who + i, size: i, recordedAt: new Date(at + i).toISOString() });
        process.exit(0);
      } catch (e) { console.error(e); process.exit(1); }
    });
    process.stdout.write('ready');`;
  for (let round = 0; round < 3; round++) {
    const dir = tempDir();
    const children = ['a', 'b'].map((who) =>
      spawn(process.execPath, ['-e', adder, path.resolve(__dirname, '../../src/core'), dir, who], { stdio: ['pipe', 'pipe', 'inherit'] }),
    );
    await Promise.all(children.map((c) => new Promise((resolve) => c.stdout.once('data', resolve))));
    for (const c of children) c.stdin.write('go');
    const codes = await Promise.all(children.map((c) => new Promise((resolve) => c.on('close', resolve))));
    assert.deepEqual(codes, [0, 0]);
    // 18 builds, under the 20 a history keeps: every one must be there (a lost update leaves fewer).
    const ids = (await pairBuilds(dir, 'k')).map((b) => b.runtimeId).sort();
    assert.deepEqual(ids, [...'ab'].flatMap((who) => Array.from({ length: 9 }, (_, i) => `sha256:${who}${i}`)).sort());
  }
});

test('a history keeps the last 20 builds, each image once (its latest build)', async () => {
  const dir = tempDir();
  for (let i = 0; i < 25; i++) await addPairBuild(dir, 'k', { runtimeId: `sha256:${i % 23}`, size: i, recordedAt: new Date(1_000_000 + i).toISOString() });
  const builds = await pairBuilds(dir, 'k');
  assert.equal(builds.length, 20);
  assert.deepEqual(
    builds.map((b) => b.size),
    [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24],
  );
});

test('writers killed with SIGKILL mid-write: every record that exists is whole, and the next write sweeps their temporary files', async () => {
  const dir = tempDir();
  // Large records, so that most of each loop is spent writing: a kill then lands mid-write.
  const writer = `
    const [core, dir] = process.argv.slice(1);
    const { writeRecord } = require(core + '/up-to-date');
    const big = 'x'.repeat(8 * 1024 * 1024);
    (async () => {
      for (let i = 0; ; i++) {
        await writeRecord(dir, { inputs: {}, runtimeId: 'sha256:' + (i % 7), context: {}, recordedAt: big });
        if (i === 0) process.stdout.write('ready\\n');
      }
    })();`;
  let midWrite = 0;
  const rounds = 5;
  for (let round = 0; round < rounds; round++) {
    const writerProcess = spawn(process.execPath, ['-e', writer, path.resolve(__dirname, '../../src/core'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => {
      writerProcess.stdout.once('data', resolve);
      writerProcess.once('close', resolve); // a writer that died at once: the assertions below say so
    });
    // Killed the moment a temporary file appears: mid-write, every time.
    const watcher = watch(dir, (_event, name) => {
      if (String(name).endsWith('.tmp')) writerProcess.kill('SIGKILL');
    });
    const timer = setTimeout(() => writerProcess.kill('SIGKILL'), 20_000);
    await new Promise((resolve) => writerProcess.on('close', resolve));
    clearTimeout(timer);
    watcher.close();
    if (readdirSync(dir).some((name) => name.endsWith('.tmp'))) midWrite++;
  }
  console.log(`state files: ${rounds} writers killed, ${midWrite} of them mid-write (a temporary file left behind)`);
  assert.ok(midWrite > 0, 'no kill landed mid-write: the test proved nothing');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    assert.doesNotThrow(() => JSON.parse(readFileSync(path.join(dir, name), 'utf8')), `${name} is whole`);
  }
  // A temporary file younger than a minute may belong to a writer in another pid namespace: it is kept.
  const record = { inputs: {}, runtimeId: 'sha256:final', context: {}, recordedAt: 'now' } as unknown as BuildRecord;
  await writeRecord(dir, record);
  assert.ok(readdirSync(dir).some((name) => name.endsWith('.tmp')));
  const old = new Date(Date.now() - 2 * 60_000);
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.tmp'))) utimesSync(path.join(dir, name), old, old);
  await writeRecord(dir, record);
  assert.deepEqual(
    readdirSync(dir).filter((name) => name.endsWith('.tmp')),
    [],
  );
  assert.equal((await readRecord(dir, 'sha256:final'))?.recordedAt, 'now');
});

test('a temporary file of a live writer is not swept, nor one just written; an old one of a dead writer is', async () => {
  const dir = tempDir();
  const old = new Date(Date.now() - 2 * 60_000);
  for (const name of [`a.json.${process.pid}.0123456789ab.tmp`, 'b.json.999999999.0123456789ab.tmp']) {
    writeFileSync(path.join(dir, name), '{');
    utimesSync(path.join(dir, name), old, old);
  }
  writeFileSync(path.join(dir, 'c.json.999999998.0123456789ab.tmp'), '{'); // a dead pid, but just written
  assert.equal(await sweepTemporaryFiles(dir), 1);
  assert.deepEqual(readdirSync(dir).sort(), [`a.json.${process.pid}.0123456789ab.tmp`, 'c.json.999999998.0123456789ab.tmp']);
});

const finding = (severity: Finding['severity']): Finding => ({
  code: severity === 'error' ? 'MISSING_LOADER' : 'MISSING_LIBRARY',
  severity,
  path: '/x',
  message: 'm',
});
const image = { tag: 't', id: 'sha256:1', size: 1000 };

test('strictness: --strict refuses errors only; strict "warnings" refuses both; no strict refuses nothing', () => {
  const both = [finding('error'), finding('warning')];
  assert.deepEqual(refusingFindings(both, undefined), []);
  assert.deepEqual(refusingFindings(both, false), []);
  assert.deepEqual(refusingFindings(both, true), [both[0]]);
  assert.deepEqual(refusingFindings(both, 'errors'), [both[0]]);
  assert.deepEqual(refusingFindings(both, 'warnings'), both);
  const exam = (findings: Finding[]) => ({ findings, files: [], truncated: false });
  assert.equal(guardRefusal(image, exam([finding('warning')]), undefined, { strict: true }), undefined);
  assert.equal(guardRefusal(image, exam([finding('warning')]), undefined, { strict: 'warnings' })?.code, 'DOCTOR');
  assert.equal(guardRefusal(image, exam([finding('error')]), undefined, { strict: true })?.code, 'DOCTOR');
});

test('budgets: size over the budget, growth over the allowed growth since the build before', () => {
  const exam = { findings: [], files: [], truncated: false };
  assert.equal(guardRefusal(image, exam, undefined, { maxRuntimeSize: 1000 }), undefined);
  assert.equal(guardRefusal(image, exam, undefined, { maxRuntimeSize: 999 })?.code, 'SIZE_BUDGET');
  const previous = { build: { runtimeId: 'sha256:0', size: 900, recordedAt: 'then' } };
  assert.equal(guardRefusal(image, exam, previous, { maxGrowth: 100 }), undefined);
  assert.equal(guardRefusal(image, exam, previous, { maxGrowth: 99 })?.code, 'SIZE_GROWTH');
  assert.equal(guardRefusal(image, exam, undefined, { maxGrowth: 0 }), undefined, 'a first build has nothing to grow from');
});
