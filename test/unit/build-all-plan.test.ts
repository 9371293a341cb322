// Build All without an engine: the plan (order, cycles, collisions, build args) from real Dockerfiles on
// disk, the scheduler with a stand-in build (its jobs bound, skips, --fail-fast, cancel), the CLI's
// argument handling (--strict levels, usage errors) and its help's layout.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { normaliseArgv } from '../../src/cli';
import { buildAll, planBuildAll, selectPairs, type PlannedPair } from '../../src/core/build-all';
import { DockerceptionError, findPairs, type BuildResult, type Engine, type Pair } from '../../src/core';
import { pairsDir, removeDir, runCli } from './helpers';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

function workspace(pairs: Parameters<typeof pairsDir>[0]): string {
  const root = pairsDir(pairs);
  dirs.push(root);
  return root;
}

const order = (plan: PlannedPair[]) => plan.map((p) => p.pair.name);

describe('Build All: the plan', () => {
  it('orders by need through FROM, COPY --from, RUN --mount=from, docker.io/library/ spellings and ARGs', async () => {
    const root = workspace({
      z: {},
      a: { builder: 'ARG BASE=z\nFROM ${BASE}:latest\n' },
      b: { runtime: 'FROM scratch\nCOPY --from=docker.io/library/a-builder /x /x\n' },
      c: { builder: 'FROM busybox:1.36\nRUN --mount=type=bind,from=b,target=/b true\n' },
      free: {},
    });
    const plan = await planBuildAll(await findPairs(root));
    assert.deepEqual(order(plan), ['free', 'z', 'a', 'b', 'c']);
    assert.deepEqual(
      plan.map((p) => p.needs.map((n) => `${n.pair.name} ${n.file}:${n.line} ${n.ref}`)),
      [[], [], ['z Dockerfile:2 z:latest'], ['a Dockerfile.run:2 docker.io/library/a-builder'], ['b Dockerfile:2 b']],
    );
    const withArg = await planBuildAll(await findPairs(root), { buildArgsOf: () => ({ BASE: 'busybox' }) });
    assert.deepEqual(withArg.find((p) => p.pair.name === 'a')?.needs, [], 'a build arg that names no pair');
  });

  it('refuses a cycle naming its pairs and the lines that tie them, and a tag collision naming both pairs', async () => {
    const root = workspace({ x: { builder: 'FROM y\n' }, y: { runtime: 'FROM x-builder\n' }, ok: {} });
    await assert.rejects(planBuildAll(await findPairs(root)), (error: DockerceptionError) => {
      assert.equal(error.code, 'NO_PAIR');
      assert.match(error.message, /^The pairs [xy], [xy] need each other's images in a cycle/);
      assert.match(error.message, /x needs y \(x\/Dockerfile:1 names y\)/);
      assert.match(error.message, /y needs x \(y\/Dockerfile\.run:1 names x-builder\)/);
      return true;
    });
    const twins = workspace({ 'a-b/c': {}, 'a/b-c': {} });
    await assert.rejects(planBuildAll(await findPairs(twins)), /a-b-c \(.*a-b\/c\) and a-b-c \(.*a\/b-c\) would both be tagged a-b-c/);
  });

  it('--only / --exclude take .dockerignore patterns on the folder and the name', async () => {
    const root = workspace({ 'services/api': {}, 'services/web': {}, 'tools/cli': {} });
    const pairs = await findPairs(root);
    const names = (only: string[], exclude: string[]) => selectPairs(pairs, root, only, exclude).map((p) => p.name);
    assert.deepEqual(names(['services/*'], []), ['services-api', 'services-web']);
    assert.deepEqual(names(['services'], ['**/web']), ['services-api']);
    assert.deepEqual(names(['tools-cli'], []), ['tools-cli']);
    assert.deepEqual(names([], ['services']), ['tools-cli']);
  });
});

describe('Build All: the scheduler (a stand-in build)', () => {
  const engine = { docker: { getImage: () => ({ inspect: () => Promise.reject(new Error('none')) }) } } as unknown as Engine;
  const fake = (fail: Set<string>, ms = 30) => {
    let running = 0;
    let peak = 0;
    const build = async (_e: Engine, pair: Pair, options: { signal?: AbortSignal }): Promise<BuildResult> => {
      peak = Math.max(peak, ++running);
      try {
        await new Promise<void>((resolve, reject) => {
          const t = setTimeout(resolve, fail.has(pair.name) ? ms / 3 : ms);
          options.signal?.addEventListener('abort', () => {
            clearTimeout(t);
            reject(new DockerceptionError('CANCELLED', 'cancelled', 'builder-run'));
          });
        });
        if (fail.has(pair.name)) throw new DockerceptionError('BUILDER_EXIT', `${pair.name} broke`, 'builder-run');
        return {
          upToDate: pair.name.startsWith('same'),
          doctor: [],
          builder: { tag: 'b', id: 'b', size: 1000 },
          runtime: { tag: 'r', id: 'r', size: 10 },
        } as unknown as BuildResult;
      } finally {
        running--;
      }
    };
    return { build, peak: () => peak };
  };

  it('keeps to --jobs, skips only the dependants of a failure, and reports each pair once', async () => {
    const root = workspace({ base: {}, app: { builder: 'FROM base\n' }, deep: { builder: 'FROM app\n' }, p1: {}, p2: {}, same1: {} });
    const plan = await planBuildAll(await findPairs(root));
    const f = fake(new Set(['base']));
    const outcomes = await buildAll(engine, plan, { jobs: 2, build: f.build });
    assert.equal(f.peak(), 2);
    const by = Object.fromEntries(outcomes.map((o) => [o.pair.name, o]));
    assert.equal(by.base.result, 'failed');
    assert.equal(by.app.reason, 'needs base, which failed');
    assert.equal(by.deep.reason, 'needs app, which was skipped');
    assert.deepEqual([by.p1.result, by.p2.result, by.same1.result], ['built', 'built', 'up to date']);
    assert.equal(outcomes.length, 6);
  });

  it('--fail-fast cancels the running and starts nothing more; a cancel does the same', async () => {
    const root = workspace({ a: {}, b: {}, c: {}, d: {} });
    const plan = await planBuildAll(await findPairs(root));
    const outcomes = await buildAll(engine, plan, { jobs: 2, failFast: true, build: fake(new Set(['a']), 300).build });
    assert.deepEqual(
      outcomes.map((o) => [o.pair.name, o.result, o.reason ?? '']),
      [
        ['a', 'failed', ''],
        ['b', 'skipped', '--fail-fast stopped the run when a failed'],
        ['c', 'skipped', 'not started: --fail-fast stopped the run when a failed'],
        ['d', 'skipped', 'not started: --fail-fast stopped the run when a failed'],
      ],
    );
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const cancelled = await buildAll(engine, plan, { jobs: 2, signal: abort.signal, build: fake(new Set(), 300).build });
    assert.deepEqual(
      cancelled.map((o) => o.result),
      ['skipped', 'skipped', 'skipped', 'skipped'],
    );
  });
});

describe('the CLI: --strict levels and the help', () => {
  it('a bare --strict is errors; --strict=warnings passes; anything else is a usage error naming what it takes', async () => {
    assert.deepEqual(normaliseArgv(['build', '--strict', 'dir', '--', '--strict']), ['build', '--strict=errors', 'dir', '--', '--strict']);
    const bad = await runCli(['build', '--all', 'nowhere', '--strict=loud']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--strict takes no value \(the doctor's errors\) or =warnings \(errors and warnings\), got '--strict=loud'/);
  });

  it("puts each command's text under its own line", async () => {
    const help = (await runCli(['--help'])).stdout.split('\n');
    const after = (command: string) => help[help.findIndex((l) => l.startsWith(`  dockerception ${command}`)) + 1];
    assert.match(after('list'), /Every Dockerfile \/ Dockerfile\.run pair under DIR/);
    assert.match(after('engine'), /Which engine the other commands use/);
    assert.match(after('build --all'), /Build every pair under DIR/);
    assert.ok(help.some((l) => /^Pair names: /.test(l)));
  });
});
