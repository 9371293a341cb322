// The "up to date" skip against its oracle. For each change of a matrix, the pair is built without --force
// (the skip decision: result.upToDate) and then with --force; the forced build is what the user would get,
// so the skip is right exactly when the forced runtime image holds the same files (path, type, size, mode,
// owner, link target, content) and the same run-time config as the image that was tagged before the change.
// Ids, tags and dates are not compared. Each change is made to matter where it should (the builder writes
// the build arg, its network interfaces, its engine's data root and its base's /version into its tar), and
// to not matter where it should not (a file .dockerignore leaves out, no change at all).
//
// The fast path (up to date decided before any builder build, from the digest of everything that build reads)
// is held to the same oracle: a case says whether it must be taken, and the count line says how often it was.
//
// Each chain walks one pair through its changes in turn: what the tag holds after one case is the "before"
// of the next, so each case costs two builds, not three.
import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdtempSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { buildPair, connectEngine, pairAt, type BuildResult, type Engine } from '../../src/core';
import { buildCacheRecords, pruneRecord } from '../../src/core/buildkit-cache';
import { PrivateEngine } from '../support/endpoints/dockerd';
import { mustRun } from '../support/endpoints/process';
import { differences, snapshot, type ImageSnapshot } from '../support/skip-snapshot';
import { BUSYBOX, docker, makeBuilderPair, makeTar, removeDir, testEngine, type TestBuilder } from './helpers';

/** Two bases with other content under one name: `docker tag V2 NAME` is a pull of a patched NAME. */
const V1 = 'dc-skip-v1';
const V2 = 'dc-skip-v2';
const RECORDS = mkdtempSync(path.join(os.tmpdir(), 'dc-skip-records-'));

interface Verdict {
  name: string;
  upToDate: boolean;
  equal: boolean;
  /** Found up to date without a builder build. */
  fast: boolean;
}
const verdicts: Verdict[] = [];
/** Every case of the matrix, so that a case that never reached its verdict shows in the count. */
const MATRIX: string[] = [];

/** The builder writes its inputs into its tar: a source file, the build arg, its base's /version, its
 * network interfaces, and where its engine keeps its data (the root of its overlay upper dir); for the fast
 * path's cases also its payload's file list, a symlink's target, a source's mode and what an ADD of a URL
 * fetched (if the builder Dockerfile has one). */
const RUN_SH = [
  'set -e',
  'mkdir -p /o',
  'cp /payload/source.txt /o/source.txt',
  'echo "$FLAVOUR" > /o/flavour',
  'cp /version /o/builder-base-version',
  'ls /sys/class/net > /o/net',
  'find /payload | sort > /o/listing',
  "ls -l /payload/link | sed 's/.* -> //' > /o/link",
  'ls -l /payload/source.txt | cut -c1-10 > /o/mode',
  'if [ -f /remote.txt ]; then cp /remote.txt /o/remote; else echo none > /o/remote; fi',
  `grep ' / / ' /proc/self/mountinfo | sed -n 's|.*upperdir=\\([^,]*\\)/overlay2/.*|\\1|p' > /o/engine`,
  'tar -cf - -C /o .',
  '',
].join('\n');

function chainPair(builder: TestBuilder, part: string, bases: Bases): string {
  const buildkit = builder === 'buildkit';
  const mount = buildkit ? `RUN --mount=from=${bases.mount},target=/m cat /m/version > /mounted-version\n` : '';
  // With BuildKit the runtime FROM names its image through an ARG's default: the input is the image the
  // resolved name points at, not the text of the line.
  const from = buildkit ? `ARG RUNTIME_BASE=${bases.from}\nFROM \${RUNTIME_BASE}` : `FROM ${bases.from}`;
  const dir = makeBuilderPair(RUN_SH, {
    name: `skip-${part}`,
    // Few steps, the ones that change last (each legacy step is a container and a commit). The LABEL keeps
    // the chains' builder images apart: two legacy builds of one step at once each make an image, and a
    // later build may be cached on the other one (a new builder id: "the builder image changed").
    builder: `FROM ${bases.builder}\nLABEL dc-skip-chain=${part}\nCMD ["sh", "/payload/run.sh"]\nARG FLAVOUR=plain\nENV FLAVOUR=$FLAVOUR\nCOPY payload /payload\n`,
    runtime:
      `${from}\nCOPY --from=${bases.copy} /version /copied-version\n${mount}` +
      'COPY source.txt flavour builder-base-version net engine listing link mode remote /out/\n',
    payload: { 'source.txt': 'version 1\n', 'notes.txt': 'draft 1\n' },
  });
  writeFileSync(path.join(dir, '.dockerignore'), 'payload/notes.txt\n');
  symlinkSync('source.txt', path.join(dir, 'payload', 'link'));
  return dir;
}

interface Bases {
  builder: string;
  from: string;
  copy: string;
  mount: string;
}

/** One pair walked through the matrix on one builder; everything it makes is named dc-skip-*. */
class Chain {
  readonly tag: string;
  readonly bases: Bases;
  readonly dir: string;
  engine!: Engine;
  buildArgs: Record<string, string> = { FLAVOUR: 'plain' };
  builderNetwork = 'none';
  /** What the tag holds now, and its id. */
  current: (ImageSnapshot & { id: string }) | undefined;
  /** Every image id a build returned, removed at the end (after the tags). */
  readonly ids = new Set<string>();

  constructor(
    readonly builder: TestBuilder,
    part: string,
  ) {
    this.tag = `dc-skip-${part}`;
    const base = (role: string) => `dc-skip-${part}-base-${role}`;
    this.bases = { builder: base('builder'), from: base('from'), copy: base('copy'), mount: base('mount') };
    this.dir = chainPair(builder, part, this.bases);
  }

  async build(force: boolean): Promise<{ result: BuildResult; said: string }> {
    const phases: string[] = [];
    const result = await buildPair(this.engine, await pairAt(this.dir), {
      tag: this.tag,
      builder: this.builder,
      recordsDir: RECORDS,
      force,
      buildArgs: this.buildArgs,
      builderNetwork: this.builderNetwork,
      onEvent: (event) => event.type === 'phase' && phases.push(event.message),
    });
    this.ids.add(result.runtime.id);
    this.ids.add(result.builder.id);
    const said = phases.find((line) => /^Up to date|^Building the runtime image: /.test(line)) ?? '(no up-to-date decision was reported)';
    return { result, said };
  }

  /** The record of the image the tag names, as the next build reads it. */
  recordFile(): string {
    const id = this.current?.id ?? '';
    return path.join(RECORDS, `${id.replace(/^sha256:/, '')}.json`);
  }

  async start(): Promise<void> {
    this.engine = await testEngine();
    await removeRefs([this.tag]);
    for (const base of Object.values(this.bases)) await docker('tag', V1, base);
    const first = await this.build(false);
    assert.equal(first.result.upToDate, false, 'a first build is never up to date');
    this.current = { ...(await snapshot(this.engine.docker, first.result.runtime.id)), id: first.result.runtime.id };
  }

  /** One case: the change, the skip decision, the forced build, and the decision checked against it. */
  async case(t: TestContext, name: string, meant: 'same' | 'different', change: () => unknown, fast?: Fast): Promise<void> {
    const label = `${name} (${this.builder})`;
    const before = this.current;
    assert.ok(before, 'the chain has a tagged image to start from');
    await change();
    const decision = await this.build(false);
    const forced = await this.build(true);
    assert.equal(forced.result.upToDate, false, '--force always builds');
    const snapshotAt = Date.now();
    const afterwards = { ...(await snapshot(this.engine.docker, forced.result.runtime.id)), id: forced.result.runtime.id };
    const snapshotMs = Date.now() - snapshotAt;
    this.current = afterwards;
    const found = differences(before, afterwards);
    const equal = found.length === 0;
    const upToDate = decision.result.upToDate;
    const tookFast = /^Up to date: .*\(no builder build: /.test(decision.said);
    verdicts.push({ name: label, upToDate, equal, fast: tookFast });
    if (tookFast) assert.equal(decision.result.timings.builderBuildMs, 0, 'the fast path builds no builder');
    t.diagnostic(
      `${label}: upToDate=${upToDate}${tookFast ? ' (no builder build)' : ''}; the forced build ${equal ? 'equals the tagged image' : `differs in ${found.length} place(s)`} ` +
        `(${decision.result.timings.totalMs} + ${forced.result.timings.totalMs} ms building, ${snapshotMs} ms listing)`,
    );
    const listed = found.map((line) => `    ${line}`).join('\n') || '    (nothing)';
    assert.equal(
      upToDate,
      equal,
      `${label}: the skip said upToDate=${upToDate}, but a --force build ${equal ? 'gives the same image' : 'gives another image'}. ` +
        `The pipeline said: "${decision.said}". What the forced build changed:\n${listed}`,
    );
    if (fast?.taken !== undefined) {
      assert.equal(
        tookFast,
        fast.taken,
        `${label}: the fast path was ${fast.taken ? 'meant to be taken' : 'not meant to be taken'}; the pipeline said: "${decision.said}"`,
      );
    }
    if (fast?.why) assert.match(decision.said, fast.why, `${label}: the normal path's message says why the builder build ran`);
    assert.equal(
      equal,
      meant === 'same',
      `${label}: this change was meant to ${meant === 'same' ? 'leave the runtime image as it was' : 'change the runtime image'}, ` +
        `so the case proves nothing as written. What the forced build changed:\n${listed}`,
    );
  }

  /** Its tags and every image its builds returned; the base tags go too (V1 and V2 stay until the end). */
  async removeImages(): Promise<void> {
    await removeRefs([this.tag, `${this.tag}-builder`, ...Object.values(this.bases), ...this.ids]);
  }

  async remove(): Promise<void> {
    await this.removeImages();
    removeDir(path.dirname(this.dir));
  }
}

/** Removes images without force (an id another tag still names is not ours to take); children go in the
 * first pass, the images they were made from in the next. */
async function removeRefs(refs: string[]): Promise<void> {
  for (let pass = 0; pass < 3; pass++) {
    const failed = await docker('rmi', ...refs).then(
      () => '',
      (error: Error) => error.message,
    );
    if (!failed.split('\n').some((line) => /^Error/.test(line) && !/No such image/i.test(line))) return;
  }
}

/** `docker build -` from an in-memory context with the legacy builder; returns nothing, the tag is the point. */
async function makeBase(tag: string, version: string): Promise<void> {
  const context = await makeTar([
    { name: 'Dockerfile', content: `FROM ${BUSYBOX}\nCOPY version /version\n` },
    { name: 'version', content: `${version}\n` },
  ]);
  mustRun('docker', ['build', '-q', '-t', tag, '-'], { input: context, env: { ...process.env, DOCKER_BUILDKIT: '0' } });
}

const reTag = (image: string, name: string) => () => docker('tag', image, name);

/** Build-cache records of the BuildKit chain: every image it reads derives from V1 or V2, whose own layer
 * records ("from local" with a parent) are first made by its builds; everything made since the chain
 * started that descends from such a record is its (children first: newest first). Others' records — their
 * bases are made elsewhere — are left alone. */
async function removeChainCacheRecords(engine: Engine, before: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  for (let pass = 0; pass < 3; pass++) {
    const records = await buildCacheRecords(engine.docker);
    const byId = new Map(records.map((r) => [r.ID, r]));
    const fresh = records.filter((r) => !before.has(r.ID));
    const roots = new Set(fresh.filter((r) => r.Description?.trim() === 'from local' && r.Parent).map((r) => r.ID));
    const descends = (record: { ID: string; Parent?: string } | undefined): boolean => {
      for (let r = record, depth = 0; r && depth < 100; r = r.Parent ? byId.get(r.Parent) : undefined, depth++) if (roots.has(r.ID)) return true;
      return false;
    };
    const ours = fresh.filter((r) => !r.InUse && descends(r)).sort((a, b) => Date.parse(b.CreatedAt ?? '') - Date.parse(a.CreatedAt ?? ''));
    if (ours.length === 0) break;
    for (const record of ours) removed += await pruneRecord(engine.docker, record.ID, { all: true }).catch(() => 0);
  }
  return removed;
}

/** Containers of this file still on the engine: export containers, and runs of its builder images. */
async function ourContainers(engine: Engine, ids: ReadonlySet<string>): Promise<string[]> {
  const all = await engine.docker.listContainers({ all: true });
  return all
    .filter((c) => c.Names.some((n) => n.startsWith('/dc-skip-')) || ids.has(c.ImageID) || c.Image.startsWith('dc-skip-'))
    .map((c) => `container ${c.Id.slice(0, 12)} ${c.Names.join(',')} (${c.Image})`);
}

const chains: Chain[] = [];
const started = Date.now();

/** Whether the fast path must be taken, and what the normal path's message must say. */
interface Fast {
  taken?: boolean;
  why?: RegExp;
}
type Case = [name: string, meant: 'same' | 'different', change: () => unknown, fast?: Fast];
const FAST: Fast = { taken: true };
const NOT_FAST: Fast = { taken: false };

/** The chain's cases as tests, one after the other. */
function walk(chain: Chain, cases: Case[]): void {
  for (const [name, meant, change, fast] of cases) {
    MATRIX.push(`${name} (${chain.builder})`);
    it(name, (t) => chain.case(t, name, meant, change, fast));
  }
}

const write = (chain: Chain, file: string, text: string) => () => writeFileSync(path.join(chain.dir, file), text);

/** The normal path (a record without the digest, as an older Dockerception wrote it) on the same state:
 * it must agree that the pair is up to date, and write the digest so that the next build is fast again. */
async function normalPathAgrees(t: TestContext, chain: Chain): Promise<void> {
  const file = chain.recordFile();
  const { builderInputs, ...older } = JSON.parse(readFileSync(file, 'utf8')) as { builderInputs?: string };
  assert.ok(builderInputs, 'the record of a build keeps the digest of its builder inputs');
  writeFileSync(file, JSON.stringify(older));
  const normal = await chain.build(false);
  t.diagnostic(`normal path: ${normal.said.slice(0, 160)}`);
  assert.equal(normal.result.upToDate, true, `the normal path agrees it is up to date; it said: "${normal.said}"`);
  assert.match(normal.said, /^Up to date: .*The builder build ran \(cached\) because the record of the tagged image has no digest/);
  assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { builderInputs?: string }).builderInputs, builderInputs, 'the normal path records the same digest');
  const again = await chain.build(false);
  assert.match(again.said, /^Up to date: .*\(no builder build: /, 'with the digest back, the next build is fast');
}

/** A file server the engine fetches an ADD's URL from (dockerd runs on this host). */
let server: Server | undefined;
let remoteText = 'remote 1\n';
async function serve(): Promise<string> {
  // A fixed Last-Modified: the legacy builder keeps it as the file's mtime.
  server ??= createServer((_, res) => res.setHeader('Last-Modified', new Date(0).toUTCString()).end(remoteText));
  if (!server.listening) await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/remote.txt`;
}

// Three chains, independent (their own tags and bases) and mostly waiting on the engine: they run side by side.
describe('the up-to-date skip equals what a --force build would change', { concurrency: true }, () => {
  before(async () => {
    await makeBase(V1, 'v1');
    await makeBase(V2, 'v2');
  });

  describe('legacy builder: the builder image and its inputs', { concurrency: 1 }, () => {
    const chain = new Chain('legacy', 'legacy-builder');
    chains.push(chain);
    before(() => chain.start());
    walk(chain, [
      ['no change', 'same', () => undefined, FAST],
      ['a file .dockerignore leaves out changed', 'same', () => writeFileSync(path.join(chain.dir, 'payload', 'notes.txt'), 'draft 2\n'), FAST],
      ['builder source changed', 'different', () => writeFileSync(path.join(chain.dir, 'payload', 'source.txt'), 'version 2\n'), NOT_FAST],
      ['a source made executable (chmod +x)', 'different', () => chmodSync(path.join(chain.dir, 'payload', 'source.txt'), 0o755), NOT_FAST],
      ['a source file added', 'different', write(chain, 'payload/added.txt', 'new\n'), NOT_FAST],
      [
        'a symlink target changed',
        'different',
        () => {
          unlinkSync(path.join(chain.dir, 'payload', 'link'));
          symlinkSync('added.txt', path.join(chain.dir, 'payload', 'link'));
        },
        NOT_FAST,
      ],
      ['build arg changed', 'different', () => (chain.buildArgs = { FLAVOUR: 'spicy' }), NOT_FAST],
      ['builder base re-tagged', 'different', reTag(V2, chain.bases.builder), NOT_FAST],
      ['no change after the changes', 'same', () => undefined, FAST],
    ]);
    it('a file .dockerignore leaves out changed: the normal path agrees it is up to date', async (t) => {
      writeFileSync(path.join(chain.dir, 'payload', 'notes.txt'), 'draft 3\n');
      await normalPathAgrees(t, chain);
    });
    walk(chain, [
      [
        'the builder Dockerfile ADDs a URL',
        'different',
        async () => appendFileSync(path.join(chain.dir, 'Dockerfile'), `ADD ${await serve()} /remote.txt\n`),
        NOT_FAST,
      ],
      [
        'no change, with an ADD of a URL',
        'same',
        () => undefined,
        { taken: false, why: /^Up to date: .*because line \d+ ADDs http:\/\/127\.0\.0\.1:\d+\/remote\.txt, which the engine fetches at build time/ },
      ],
      ["the URL's content changed", 'different', () => (remoteText = 'remote 2\n'), NOT_FAST],
    ]);
    after(() => server?.close());
  });

  describe("legacy builder: the runtime build, the builder's network and the engine", { concurrency: 1 }, () => {
    const chain = new Chain('legacy', 'legacy-runtime');
    chains.push(chain);
    before(() => chain.start());
    walk(chain, [
      ['Dockerfile.run changed (an ENV line)', 'different', () => appendFileSync(path.join(chain.dir, 'Dockerfile.run'), 'ENV MODE=changed\n')],
      ['runtime FROM re-tagged', 'different', reTag(V2, chain.bases.from)],
      ['COPY --from image re-tagged', 'different', reTag(V2, chain.bases.copy)],
      ['builder network none → default', 'different', () => (chain.builderNetwork = 'default')],
    ]);

    // Another engine: the tagged image and its record are there too (docker save | load, same id), as on
    // a machine that shares the state folder; the builder there writes that engine's data root.
    const needRoot = process.getuid?.() !== 0 && "starting a dockerd of the tests' own needs root";
    if (!needRoot) MATRIX.push('engine changed (legacy)');
    const engine = new PrivateEngine('skip');
    after(() => engine.remove());
    it('engine changed', { skip: needRoot }, async (t) => {
      const startedAt = Date.now();
      await engine.start();
      engine.loadFrom([chain.tag, ...Object.values(chain.bases)]);
      t.diagnostic(`second engine started and loaded in ${Date.now() - startedAt} ms`);
      await chain.case(t, 'engine changed', 'different', async () => {
        chain.engine = await connectEngine({ host: engine.url });
      });
    });
  });

  describe('BuildKit: the re-tagged images of the runtime build', { concurrency: 1 }, () => {
    const chain = new Chain('buildkit', 'buildkit');
    chains.push(chain);
    let cacheBefore = new Set<string>();
    before(async () => {
      cacheBefore = new Set((await buildCacheRecords((await testEngine()).docker)).map((r) => r.ID));
      await chain.start();
    });
    after(async () => {
      await chain.removeImages(); // the records' layers are shared with the images until these go
      await removeChainCacheRecords(await testEngine(), cacheBefore);
    });
    walk(chain, [
      ['no change', 'same', () => undefined, FAST],
      ['a file .dockerignore leaves out changed', 'same', () => writeFileSync(path.join(chain.dir, 'payload', 'notes.txt'), 'draft 2\n'), FAST],
      ['a source made executable (chmod +x)', 'different', () => chmodSync(path.join(chain.dir, 'payload', 'source.txt'), 0o755), NOT_FAST],
      ['builder source changed', 'different', () => writeFileSync(path.join(chain.dir, 'payload', 'source.txt'), 'version 2\n'), NOT_FAST],
      ['build arg changed', 'different', () => (chain.buildArgs = { FLAVOUR: 'spicy' }), NOT_FAST],
      ['builder base re-tagged', 'different', reTag(V2, chain.bases.builder), NOT_FAST],
      ['runtime FROM (named by an ARG default) re-tagged', 'different', reTag(V2, chain.bases.from)],
      ['COPY --from image re-tagged', 'different', reTag(V2, chain.bases.copy)],
      ['RUN --mount=from image re-tagged', 'different', reTag(V2, chain.bases.mount)],
    ]);
  });
});

describe('skip oracle', () => {
  after(async () => {
    for (const chain of chains) await chain.remove();
    await removeRefs([V1, V2]);
    removeDir(RECORDS);
  });

  it('every case of the matrix reached a verdict; the count is printed; nothing is left running', async (t) => {
    const agreed = verdicts.filter((v) => v.upToDate === v.equal).length;
    t.diagnostic(`skip oracle: ${verdicts.length} cases, the skip decision equals the forced build's difference in ${agreed}`);
    t.diagnostic(
      `skip oracle: up to date without a builder build in ${verdicts.filter((v) => v.fast).length} of ${verdicts.filter((v) => v.upToDate).length} up-to-date cases`,
    );
    t.diagnostic(`skip oracle: ${Math.round((Date.now() - started) / 1000)} s`);
    for (const verdict of verdicts.filter((v) => v.upToDate !== v.equal)) {
      t.diagnostic(`skip oracle: wrong on "${verdict.name}" (upToDate=${verdict.upToDate}, forced build ${verdict.equal ? 'equal' : 'different'})`);
    }
    const missing = MATRIX.filter((name) => !verdicts.some((v) => v.name === name));
    assert.deepEqual(missing, [], 'these cases never reached a verdict (see their own failures above)');
    const ids = new Set(chains.flatMap((chain) => [...chain.ids]));
    assert.deepEqual(await ourContainers(await testEngine(), ids), [], 'no container of these tests is left');
  });
});
