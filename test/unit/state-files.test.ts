// Dockerception's own state under concurrency and kills: whole files or none, nothing lost when two
// processes add builds at once, no temporary file outliving a killed writer. Pure: no engine.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import type { Finding } from '../../src/core/doctor';
import { guardRefusal, refusingFindings } from '../../src/core/pipeline';
import { addPairBuild, pairBuilds } from '../../src/core/history';
import { sweepTemporaryFiles } from '../../src/core/state-files';
import { readRecord, writeRecord, type BuildRecord } from '../../src/core/up-to-date';
import { removeDir } from './helpers';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-state-'));
  dirs.push(dir);
  return dir;
};

/** Runs `code` (CommonJS, with the compiled core at hand) in another Node process. */
function child(code: string, args: string[]): ReturnType<typeof spawn> {
  const core = path.resolve(__dirname, '../../src/core');
  return spawn(process.execPath, ['-e', code, core, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}
/** The child's exit code; its stderr is passed on so that a failure shows why. */
const finished = (child: ReturnType<typeof spawn>) =>
  new Promise<number | null>((resolve) => {
    child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    child.on('close', resolve);
  });

test('two processes adding builds to one pair at once: every build is kept', async () => {
  const dir = tempDir();
  const adder = `
    const [core, dir, who] = process.argv.slice(1);
    const { addPairBuild } = require(core + '/history');
    (async () => {
      for (let i = 0; i < 9; i++) await addPairBuild(dir, 'k', { runtimeId: 'sha256:' + who + i, size: i, recordedAt: new Date(Date.now() + i).toISOString() });
    })().catch((e) => { console.error(e); process.exit(1); });`;
  const codes = await Promise.all(['a', 'b'].map((who) => finished(child(adder, [dir, who]))));
  assert.deepEqual(codes, [0, 0]);
  const ids = (await pairBuilds(dir, 'k')).map((b) => b.runtimeId).sort();
  assert.equal(ids.length, 18, ids.join(' '));
  assert.deepEqual(ids, [...'ab'].flatMap((who) => Array.from({ length: 9 }, (_, i) => `sha256:${who}${i}`)).sort());
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
  let rounds = 0;
  let midWrite = 0;
  while (midWrite < 2 && rounds < 20) {
    rounds++;
    const writerProcess = spawn(process.execPath, ['-e', writer, path.resolve(__dirname, '../../src/core'), dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve) => writerProcess.stdout.once('data', resolve));
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 600));
    writerProcess.kill('SIGKILL');
    await new Promise((resolve) => writerProcess.on('close', resolve));
    if (readdirSync(dir).some((name) => name.endsWith('.tmp'))) midWrite++;
  }
  console.log(`state files: ${rounds} writers killed, ${midWrite} of them mid-write (a temporary file left behind)`);
  assert.ok(midWrite > 0, 'no kill landed mid-write: the test proved nothing');
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    assert.doesNotThrow(() => JSON.parse(readFileSync(path.join(dir, name), 'utf8')), `${name} is whole`);
  }
  const record = { inputs: {}, runtimeId: 'sha256:final', context: {}, recordedAt: 'now' } as unknown as BuildRecord;
  await writeRecord(dir, record);
  assert.deepEqual(
    readdirSync(dir).filter((name) => name.endsWith('.tmp')),
    [],
  );
  assert.equal((await readRecord(dir, 'sha256:final'))?.recordedAt, 'now');
});

test('a temporary file of a live writer is not swept; one of a dead writer is', async () => {
  const dir = tempDir();
  const { writeFileSync } = await import('node:fs');
  writeFileSync(path.join(dir, `a.json.${process.pid}.0123456789ab.tmp`), '{');
  writeFileSync(path.join(dir, `b.json.999999999.0123456789ab.tmp`), '{');
  assert.equal(await sweepTemporaryFiles(dir), 1);
  assert.deepEqual(readdirSync(dir), [`a.json.${process.pid}.0123456789ab.tmp`]);
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
