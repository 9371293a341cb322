// Build All on the real engine, through the CLI bundle (dist/cli.js): the order with a shared base, a cycle
// refused, a failure that skips only its dependants, --fail-fast, SIGINT mid-run leaving nothing, the JSON
// shape, and tag collisions refused. Pairs are small busybox builders; every tag is dc-ba<run id>-*.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { BUSYBOX, contextCacheRecords, docker, imageExists, jsonOf, leftovers, makeDir, removeDir, removeImages, runCli } from './helpers';

const RUN = `dc-ba${Math.random().toString(36).slice(2, 7)}`;
const dirs: string[] = [];
const tags = new Set<string>();

/** A pair folder whose builder writes `files` (name → text) as its tar; `from` is the builder's FROM. */
function pair(root: string, name: string, spec: { from?: string; runtime?: string; script?: string }): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  const script = spec.script ?? `echo ${name} > /o/${name}.txt`;
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    `FROM ${spec.from ?? BUSYBOX}\nRUN mkdir -p /o\nCMD ["sh", "-c", ${JSON.stringify(`${script} && tar -cf - -C /o .`)}]\n`,
  );
  writeFileSync(path.join(dir, 'Dockerfile.run'), spec.runtime ?? 'FROM scratch\nCOPY . /\n');
  const tag = path.relative(root, dir).split(path.sep).join('-');
  tags.add(tag).add(`${tag}-builder`);
  return dir;
}

function workspace(): string {
  const dir = makeDir({});
  dirs.push(dir);
  return dir;
}

/** Every image this file may have tagged is ours to remove. */
after(async () => {
  await removeImages(...tags);
  for (const dir of dirs) removeDir(dir);
});

/** Tags of ours (starting with `prefix`) that exist now. */
async function ourTags(prefix: string): Promise<string[]> {
  const out = await docker('images', '--format', '{{.Repository}}', '--filter', `reference=${prefix}*`);
  return out.split('\n').filter(Boolean);
}

/**
 * Containers and volumes left since the tests started, waiting up to 10 s for removals under way. The
 * engine is shared with other suites: containers that are theirs (their labels name another purpose) are
 * not counted, and every one left is shown with its name, image and labels.
 */
async function leftBehind(): Promise<string[]> {
  let left = await leftovers();
  for (let i = 0; i < 10 && left.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    left = await leftovers();
  }
  const described: string[] = [];
  for (const item of left) {
    const [kind, id] = item.split(' ');
    if (kind !== 'container') {
      described.push(item);
      continue;
    }
    const info = await docker('inspect', '--format', '{{.Name}} {{.Config.Image}} {{json .Config.Labels}}', id).catch(() => '');
    if (!info) continue; // removed meanwhile
    if (/org\.dockerception\.(inspect|standin)|dc-(?!ba)/.test(info)) continue; // another suite's
    described.push(`${item}: ${info.trim()}`);
  }
  return described;
}

describe('dockerception build --all', { timeout: 600_000 }, () => {
  it('builds a shared base before the pairs that use it (FROM and COPY --from, build args resolved), the others at once', async () => {
    const root = workspace();
    const base = `${RUN}-base`;
    pair(root, base, { runtime: `FROM ${BUSYBOX}\nCOPY ${base}.txt /\n` });
    // One reads the base through a build arg with a default, one through COPY --from, one not at all.
    pair(root, `${RUN}-app1`, { from: '${BASE}', script: `cp /${base}.txt /o/ && echo app1 > /o/app1.txt` });
    writeFileSync(
      path.join(root, `${RUN}-app1`, 'Dockerfile'),
      `ARG BASE=${base}\n` + (await import('node:fs')).readFileSync(path.join(root, `${RUN}-app1`, 'Dockerfile'), 'utf8'),
    );
    pair(root, `${RUN}-app2`, { runtime: `FROM scratch\nCOPY --from=${base}-builder /bin/busybox /busybox\nCOPY . /\n` });
    pair(root, `${RUN}-solo`, {});
    const result = await runCli(['build', '--all', root, '--json', '--jobs', '3']);
    assert.equal(result.code, 0, result.stderr);
    const outcomes = jsonOf(result) as Array<{ pair: string; result: string; needs: string[] }>;
    assert.deepEqual(
      outcomes.map((o) => [o.pair, o.result, o.needs]),
      [
        [`${RUN}-app1`, 'built', [base]],
        [`${RUN}-app2`, 'built', [base]],
        [base, 'built', []],
        [`${RUN}-solo`, 'built', []],
      ],
    );
    // The order, from the progress: the base was tagged before either app started.
    const lines = result.stderr.split('\n');
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const baseDone = at(new RegExp(`^\\[${base}\\]\\s+built`));
    assert.ok(baseDone >= 0, result.stderr);
    for (const app of ['app1', 'app2']) assert.ok(at(new RegExp(`^\\[${RUN}-${app}\\]\\s+==>`)) > baseDone, `${app} started after the base was built`);
    // The app really ran on the base it waited for.
    const files = await docker('run', '--rm', `${RUN}-app1-builder`, 'ls', '/');
    assert.match(files, new RegExp(`${base}\\.txt`));
    assert.deepEqual(await leftBehind(), []);
  });

  it('refuses a cycle before anything runs, naming the pairs in it', async () => {
    const root = workspace();
    pair(root, `${RUN}-x`, { from: `${RUN}-y` });
    pair(root, `${RUN}-y`, { runtime: `FROM scratch\nCOPY --from=${RUN}-z-builder /bin/busybox /\n` });
    pair(root, `${RUN}-z`, { from: `${RUN}-x-builder:latest` });
    pair(root, `${RUN}-free`, {});
    const result = await runCli(['build', '--all', root]);
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, new RegExp(`The pairs ${RUN}-\\w, ${RUN}-\\w, ${RUN}-\\w need each other's images in a cycle`));
    for (const name of ['x', 'y', 'z']) assert.match(result.stderr, new RegExp(`${RUN}-${name} needs`));
    assert.doesNotMatch(result.stderr, /free needs|==> /, 'nothing ran');
    for (const name of ['x', 'y', 'z', 'free']) assert.equal(await imageExists(`${RUN}-${name}-builder`), false);
  });

  it('a failure skips only the pairs that need it; the others are built; exit 1; the table says so', async () => {
    const root = workspace();
    pair(root, `${RUN}-broken`, { script: 'echo the compiler broke >&2; exit 3' });
    pair(root, `${RUN}-needs-broken`, { from: `${RUN}-broken-builder` });
    pair(root, `${RUN}-fine`, {});
    const result = await runCli(['build', '--all', root]);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(result.stdout, result.stderr);
    const table = result.stdout.trim().split('\n');
    assert.match(table[0], /^pair\s+result\s+builder\s+runtime\s+smaller\s+time$/);
    const row = (name: string) => table.find((l) => l.startsWith(`${RUN}-${name} `)) ?? '';
    assert.match(row('broken'), /\bfailed\s+-\s+-\s+-\s+[\d.]+ s$/);
    assert.match(row('needs-broken'), /\bskipped\s+-\s+-\s+-\s+-$/);
    assert.match(row('fine'), /\bbuilt\s+[\d.]+ MB\s+\d+ B\s+\d+×\s+[\d.]+ s$/);
    assert.match(result.stdout, new RegExp(`${RUN}-needs-broken: needs ${RUN}-broken, which failed`));
    assert.match(result.stdout, new RegExp(`${RUN}-broken: BUILDER_EXIT: .*the compiler broke`));
    assert.match(result.stdout, /3 pair\(s\): 1 built, 1 failed, 1 skipped/);
    assert.equal(await imageExists(`${RUN}-fine`), true);
    assert.equal(await imageExists(`${RUN}-broken`), false);
    assert.deepEqual(await leftBehind(), []);
  });

  it('--fail-fast cancels the running builds at the first failure and starts no more', async () => {
    const root = workspace();
    // By name: a-broken and b-slow start (--jobs 2); c-later waits for a free slot.
    pair(root, `${RUN}-ff-a-broken`, { script: 'sleep 1; exit 4' });
    pair(root, `${RUN}-ff-b-slow`, { script: 'sleep 60' });
    pair(root, `${RUN}-ff-c-later`, {});
    const started = Date.now();
    const result = await runCli(['build', '--all', root, '--jobs', '2', '--fail-fast', '--json']);
    assert.equal(result.code, 1, result.stderr);
    assert.ok(Date.now() - started < 50_000, 'the 60 s builder was stopped, not waited for');
    const byName = Object.fromEntries((jsonOf(result) as Array<{ pair: string; result: string; reason?: string }>).map((o) => [o.pair, o]));
    assert.equal(byName[`${RUN}-ff-a-broken`].result, 'failed');
    assert.equal(byName[`${RUN}-ff-b-slow`].result, 'skipped');
    assert.match(byName[`${RUN}-ff-b-slow`].reason ?? '', new RegExp(`--fail-fast stopped the run when ${RUN}-ff-a-broken failed`));
    assert.equal(byName[`${RUN}-ff-c-later`].result, 'skipped');
    assert.match(byName[`${RUN}-ff-c-later`].reason ?? '', /^not started: --fail-fast/);
    assert.deepEqual(await leftBehind(), []);
    assert.deepEqual(await ourTags(`${RUN}-ff-b`), [], 'the cancelled build left no tag');
    assert.deepEqual(await ourTags(`${RUN}-ff-c`), []);
  });

  it('SIGINT mid-run cancels every running build: exit 130, no container, volume, tag or build-cache record left', async () => {
    const root = workspace();
    pair(root, `${RUN}-int-a`, { script: 'sleep 60' });
    pair(root, `${RUN}-int-b`, { script: 'sleep 60' });
    // BuildKit for one of them: its streamed context leaves build-cache records unless removed.
    writeFileSync(path.join(root, `${RUN}-int-b`, 'Dockerfile.run'), 'FROM scratch\nCOPY --chmod=644 . /\n');
    // Records another suite left on the shared engine are not ours to count.
    const recordsBefore = new Set(await contextCacheRecords());
    let sent = false;
    const result = await runCli(['build', '--all', root, '--jobs', '2'], {
      onStderr: (text, child) => {
        if (!sent && (text.match(/==> Running dc-ba\w+-int-\w-builder/g) ?? []).length === 2) {
          sent = true;
          setTimeout(() => child.kill('SIGINT'), 1000);
        }
      },
    });
    assert.ok(sent, result.stderr);
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stdout, /2 pair\(s\): 2 skipped/);
    assert.match(result.stdout, /cancelled before it finished/);
    assert.deepEqual(await leftBehind(), []);
    assert.deepEqual(await ourTags(`${RUN}-int-`), [], 'no tag, not even the builders made in this run');
    assert.deepEqual(
      (await contextCacheRecords()).filter((id) => !recordsBefore.has(id)),
      [],
    );
  });

  it('--json prints one array, an element per pair with its sizes, ratio, time, needs and result', async () => {
    const root = workspace();
    pair(root, `${RUN}-shape`, {});
    const first = await runCli(['build', '--all', root, '--json']);
    const second = await runCli(['build', '--all', root, '--json']);
    assert.equal(second.code, 0, second.stderr);
    const [built] = jsonOf(first);
    const [again] = jsonOf(second);
    assert.deepEqual(Object.keys(built), ['pair', 'dir', 'tag', 'result', 'builder', 'runtime', 'timesSmaller', 'ms', 'needs', 'findings']);
    assert.equal(built.result, 'built');
    assert.equal(again.result, 'up to date');
    assert.equal(built.pair, `${RUN}-shape`);
    assert.equal(built.dir, path.join(root, `${RUN}-shape`));
    assert.equal(built.tag, `${RUN}-shape`);
    assert.deepEqual(Object.keys(built.builder), ['tag', 'id', 'size']);
    const inspected = JSON.parse(await docker('image', 'inspect', `${RUN}-shape`))[0];
    assert.deepEqual(built.runtime, { tag: `${RUN}-shape`, id: inspected.Id, size: inspected.Size });
    assert.equal(built.timesSmaller, Math.round(built.builder.size / built.runtime.size));
    assert.ok(built.ms > 0);
    assert.deepEqual(built.needs, []);
    const failed = makeDir({});
    dirs.push(failed);
    pair(failed, `${RUN}-shape-bad`, { script: 'exit 5' });
    const [bad] = jsonOf(await runCli(['build', '--all', failed, '--json']));
    assert.deepEqual(Object.keys(bad.error), ['code', 'message', 'phase']);
    assert.equal(bad.error.code, 'BUILDER_EXIT');
  });

  it('refuses tags that collide, naming both pairs, for Build All and for a single build', async () => {
    const root = workspace();
    pair(root, path.join(`${RUN}-a-b`, 'c'), {});
    pair(root, path.join(`${RUN}-a`, 'b-c'), {});
    const all = await runCli(['build', '--all', root]);
    assert.equal(all.code, 2, all.stderr);
    assert.match(
      all.stderr,
      new RegExp(`${RUN}-a-b-c \\(${root}/${RUN}-a-b/c\\) and ${RUN}-a-b-c \\(${root}/${RUN}-a/b-c\\) would both be tagged ${RUN}-a-b-c`),
    );
    // A single build names from the git repository root that holds it, and sees the other pair there.
    mkdirSync(path.join(root, '.git'));
    const one = await runCli(['build', path.join(root, `${RUN}-a`, 'b-c')]);
    assert.equal(one.code, 2, one.stderr);
    assert.match(
      one.stderr,
      /would both be tagged .*Give this build another --tag, or rename one of the folders \(pairs are named from the git repository root/,
    );
    assert.deepEqual(await ourTags(`${RUN}-a-`), []);
    const list = await runCli(['list', root]);
    assert.match(list.stdout, new RegExp(`${RUN}-a-b-c +.*${RUN}-a-b/c\\n${RUN}-a-b-c +.*${RUN}-a/b-c`));
  });
});
