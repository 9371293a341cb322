// One verdict path: the guards (the doctor's strictness, the size budget) judge the image that carries the
// tag, whether the build just made it or found it up to date; and two builds of one pair at once both land
// in its history. On the real engine.
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildCacheRecords, removeContextRecords } from '../../src/core/buildkit-cache';
import { buildPair, DockerceptionError, engineIdOf, pairAt, pairBuilds, pairKey } from '../../src/core';
import { Readable } from 'node:stream';
import { TarGate } from '../../src/core/tar-gate';
import { docker, makeBuilderPair, makeTar, removeDir, removeImages, runCli, testEngine } from './helpers';

const records = mkdtempSync(path.join(os.tmpdir(), 'dc-verdict-records-'));
const dirs: string[] = [];
const tags: string[] = [];
after(async () => {
  await removeImages(...tags.flatMap((tag) => [tag, `${tag}-builder`]));
  for (const dir of [...dirs, records]) removeDir(dir);
});

/** A pair whose runtime is a real dynamically linked binary (the host's `true`) on scratch: it cannot start. */
function dynamicOnScratch(): string {
  const dir = makeBuilderPair('cd /payload && tar -c true\n', { runtime: 'FROM scratch\nCOPY true /true\nENTRYPOINT ["/true"]\n' });
  copyFileSync('/bin/true', path.join(dir, 'payload', 'true'));
  dirs.push(path.dirname(dir));
  return dir;
}

async function taggedId(tag: string): Promise<string> {
  return (await docker('image', 'inspect', '-f', '{{.Id}}', tag)).trim();
}

describe('the guards judge the tagged image on every path', () => {
  test('--strict on an up-to-date build whose image cannot start: DOCTOR, exit 1, the tag stays where it was', async () => {
    const engine = await testEngine();
    const dir = dynamicOnScratch();
    const tag = 'dc-verdict-strict';
    tags.push(tag);
    const first = await buildPair(engine, await pairAt(dir), { tag, recordsDir: records });
    assert.equal(first.upToDate, false);
    assert.ok(
      first.doctor.some((f) => f.severity === 'error' && f.code === 'MISSING_LOADER'),
      JSON.stringify(first.doctor),
    );
    const id = await taggedId(tag);

    await assert.rejects(buildPair(engine, await pairAt(dir), { tag, recordsDir: records, strict: true }), (error: unknown) => {
      assert.ok(error instanceof DockerceptionError);
      assert.equal(error.code, 'DOCTOR');
      assert.match(error.message, /nothing changed since it was built .*so it was not rebuilt: it still carries the tag dc-verdict-strict/);
      assert.match(error.message, /MISSING_LOADER/);
      return true;
    });
    assert.equal(await taggedId(tag), id, 'the tag still points at the same image');

    // Through the CLI, as CI runs it: exit 1 with the guard's words.
    const cli = await runCli(['build', dir, '--tag', tag, '--strict'], { env: { ...process.env, DOCKERCEPTION_STATE_DIR: records } });
    assert.equal(cli.code, 1, cli.stderr);
    assert.match(cli.stderr, /Up to date/);
    assert.match(cli.stderr, /DOCTOR|doctor found/);
    assert.equal(await taggedId(tag), id);
  });

  test('--max-runtime-size under the size of an up-to-date image: SIZE_BUDGET, the image is kept and tagged', async () => {
    const engine = await testEngine();
    const dir = dynamicOnScratch();
    const tag = 'dc-verdict-budget';
    tags.push(tag);
    const first = await buildPair(engine, await pairAt(dir), { tag, recordsDir: records });
    const again = buildPair(engine, await pairAt(dir), { tag, recordsDir: records, maxRuntimeSize: first.runtime.size - 1 });
    await assert.rejects(
      again,
      (error: unknown) => error instanceof DockerceptionError && error.code === 'SIZE_BUDGET' && /still carries the tag/.test(error.message),
    );
    assert.equal(await taggedId(tag), first.runtime.id);
    // Within the budget the same up-to-date build passes.
    const fine = await buildPair(engine, await pairAt(dir), { tag, recordsDir: records, maxRuntimeSize: first.runtime.size });
    assert.equal(fine.upToDate, true);
  });
});

describe('state that survives concurrency', () => {
  test('two CLIs building the same pair at once: both builds are in its history, no temporary file is left', async () => {
    // Each run writes a different file, so the two runs make two different runtime images.
    const dir = makeBuilderPair('mkdir -p /o && date +%s%N > /o/hello.txt && head -c 16 /dev/urandom | od -x >> /o/hello.txt && tar -c -C /o hello.txt\n');
    dirs.push(path.dirname(dir));
    const tag = 'dc-verdict-race';
    tags.push(tag);
    const state = mkdtempSync(path.join(os.tmpdir(), 'dc-verdict-race-'));
    dirs.push(state);
    const env = { ...process.env, DOCKERCEPTION_STATE_DIR: state };
    const runs = await Promise.all([1, 2].map(() => runCli(['build', dir, '--tag', tag, '--force', '--json'], { env })));
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const ids = runs.map((run) => JSON.parse(run.stdout.trim()).runtime.id as string);
    assert.notEqual(ids[0], ids[1]);

    const engine = await testEngine();
    const builds = await pairBuilds(state, pairKey(await engineIdOf(engine.docker), dir, tag));
    assert.deepEqual(new Set(builds.map((b) => b.runtimeId)), new Set(ids), 'both builds are in the history');
    const temporary = (folder: string): string[] =>
      readdirSync(folder, { withFileTypes: true }).flatMap((entry) =>
        entry.isDirectory() ? temporary(path.join(folder, entry.name)) : entry.name.endsWith('.tmp') ? [entry.name] : [],
      );
    assert.deepEqual(temporary(state), []);
    // The image the tag does not point at is ours to remove.
    const tagged = await taggedId(tag);
    await removeImages(...ids.filter((id) => id !== tagged));
    mkdirSync(state, { recursive: true });
  });
});

describe('the Dockerfile the gate keeps is the one the engine builds from', () => {
  // These builds stream their context to BuildKit straight through the API: the records it keeps of it are ours to remove.
  let recordsBefore: Set<string>;
  before(async () => {
    recordsBefore = new Set((await buildCacheRecords((await testEngine()).docker)).map((r) => r.ID));
  });
  after(async () => {
    await removeContextRecords((await testEngine()).docker, recordsBefore);
  });
  // Cases where the tar holds more than one candidate: the engine's choice is read back from a label.
  const cases: Array<{ name: string; entries: Parameters<typeof makeTar>[0] }> = [
    {
      name: 'Dockerfile and dockerfile',
      entries: [
        { name: 'dockerfile', content: 'FROM scratch\nLABEL which=lower\n' },
        { name: 'Dockerfile', content: 'FROM scratch\nLABEL which=upper\n' },
      ],
    },
    { name: 'dockerfile only', entries: [{ name: 'dockerfile', content: 'FROM scratch\nLABEL which=lower\n' }] },
    {
      name: 'Dockerfile twice',
      entries: [
        { name: 'Dockerfile', content: 'FROM scratch\nLABEL which=first\n' },
        { name: './Dockerfile', content: 'FROM scratch\nLABEL which=second\n' },
      ],
    },
  ];
  for (const { name, entries } of cases) {
    test(name, async () => {
      const tarBytes = await makeTar(entries);
      const gate = new TarGate({ fallbackDockerfile: Buffer.alloc(0), exitVerdict: async () => undefined });
      const passed: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        gate
          .on('data', (chunk: Buffer) => passed.push(chunk))
          .on('end', resolve)
          .on('error', reject);
        gate.end(tarBytes);
      });
      const kept = /which=(\w+)/.exec(gate.summary?.dockerfile?.toString('utf8') ?? '')?.[1];
      const { docker: api } = await testEngine();
      for (const version of ['1', '2'] as const) {
        const tag = `dc-verdict-which-${version}-${cases.findIndex((c) => c.name === name)}`;
        tags.push(tag);
        const stream = await api.buildImage(Readable.from([Buffer.concat(passed)]) as unknown as NodeJS.ReadableStream, { t: tag, version });
        await new Promise((resolve, reject) => api.modem.followProgress(stream, (error: unknown) => (error ? reject(error) : resolve(undefined))));
        const built = JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config.Labels}}', tag)) as Record<string, string>;
        assert.equal(kept, built.which, `${version === '2' ? 'BuildKit' : 'legacy'}: the engine built from which=${built.which}, the gate kept which=${kept}`);
      }
    });
  }
});

describe('a Dockerfile the builder writes: its FROM image is an input too', () => {
  test('re-tagging that image to other content rebuilds; nothing changed is up to date', async () => {
    const engine = await testEngine();
    const base = 'dc-verdict-wbase:1';
    const bases = ['one', 'two'].map((which) => `dc-verdict-wbase-${which}`);
    tags.push(base, ...bases);
    for (const [i, tag] of bases.entries()) {
      const context = makeBuilderPair('', { name: `wbase-${i}` });
      dirs.push(path.dirname(context));
      await docker('build', '-q', '-t', tag, '--label', `which=${i}`, context);
    }
    await docker('tag', bases[0], base);
    const dir = makeBuilderPair(
      `printf 'FROM ${base}\\nCOPY hello.txt /hello.txt\\n' > /payload/Dockerfile && echo hi > /payload/hello.txt && tar -c -C /payload Dockerfile hello.txt\n`,
    );
    dirs.push(path.dirname(dir));
    const tag = 'dc-verdict-written';
    tags.push(tag);
    const first = await buildPair(engine, await pairAt(dir), { tag, recordsDir: records });
    assert.equal(first.context.dockerfileSource, 'builder-output');
    const same = await buildPair(engine, await pairAt(dir), { tag, recordsDir: records });
    assert.equal(same.upToDate, true);
    await docker('tag', bases[1], base);
    const phases: string[] = [];
    const retagged = await buildPair(engine, await pairAt(dir), {
      tag,
      recordsDir: records,
      onEvent: (e) => (e.type === 'phase' ? phases.push(e.message) : undefined),
    });
    assert.equal(retagged.upToDate, false);
    assert.match(phases.join('\n'), /the runtime Dockerfile's image dc-verdict-wbase:1 changed/);
    assert.equal(JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config.Labels}}', tag)).which, '1');
  });
});
