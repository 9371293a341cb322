// Hostile builders, engine faults and load, against the real engine (npm run test:faults). For every
// case: the code and message a user sees, no container left, nothing wrongly tagged, no engine temp
// dir leaked, and the next build succeeding. The table of what users see is written to
// test-artifacts/faults.md (the README's troubleshooting section shows it).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildPair, pairAt } from '../../src/core';
import { PrivateEngine } from '../support/endpoints/dockerd';
import {
  BUILDERS,
  BUSYBOX,
  CLI,
  contextCacheRecords,
  ROOT,
  imageExists,
  jsonOf,
  leftovers,
  makeBuilderPair,
  makeTar,
  removeDir,
  removeImages,
  runCli,
  testEngine,
  type CliResult,
} from '../unit/helpers';

const rows: Array<{ kase: string; exit: number | null; code: string; message: string }> = [];
const dirs: string[] = [];
const isRoot = process.getuid?.() === 0;
const ENGINE_TMP = '/var/lib/docker/tmp';
const engineTemp = () => {
  try {
    return readdirSync(ENGINE_TMP).filter((n) => n.startsWith('docker-builder'));
  } catch {
    return [];
  }
};

function pair(script: string, options: Parameters<typeof makeBuilderPair>[1] = {}): string {
  const dir = makeBuilderPair(script, options);
  dirs.push(dir);
  return dir;
}

/** Records what the user saw, then checks that nothing was left or tagged: on the machine's engine, or
 * on the tests' own engine (where every container and image is the tests'). */
async function expectFailure(kase: string, result: CliResult, code: string, exit: number, tag: string, message?: RegExp, on?: PrivateEngine): Promise<void> {
  const out = jsonOf(result);
  assert.equal(out.ok, false, `${kase}: expected a failure\n${result.stderr.slice(-2000)}`);
  rows.push({ kase, exit: result.code, code: out.error.code, message: out.error.message.split('\n')[0] });
  assert.equal(out.error.code, code, `${kase}: ${out.error.message}`);
  assert.equal(result.code, exit, kase);
  if (message) assert.match(out.error.message, message, kase);
  if (on) {
    assert.deepEqual(on.docker('ps', '-aq').stdout.trim(), '', `${kase}: containers left`);
    assert.notEqual(on.docker('image', 'inspect', tag).status, 0, `${kase}: ${tag} must not be tagged`);
    return;
  }
  assert.deepEqual(await leftovers(), [], `${kase}: containers left`);
  assert.equal(await imageExists(tag), false, `${kase}: ${tag} must not be tagged`);
}

/** A good tar with the runtime Dockerfile in it. */
const goodTar = () =>
  makeTar([
    { name: 'Dockerfile', content: 'FROM scratch\nCOPY hello.txt /hello.txt\n' },
    { name: 'hello.txt', content: 'hello\n' },
  ]);

describe('hostile builder output', () => {
  let tempBefore: string[] = [];
  before(() => {
    tempBefore = engineTemp();
  });

  const cases: Array<{ kase: string; code: string; script: string; payload?: () => Promise<Record<string, Buffer>>; args?: string[]; message?: RegExp }> = [
    { kase: 'not a tar', code: 'NOT_A_TAR', script: 'echo "Build OK: 3 files"\n' },
    { kase: 'empty output', code: 'NOT_A_TAR', script: 'true\n', message: /wrote nothing to stdout/ },
    { kase: 'cut mid-entry', code: 'TRUNCATED_TAR', script: 'head -c 700 /payload/good.tar\n', payload: async () => ({ 'good.tar': await goodTar() }) },
    {
      kase: 'whole tar, no end-of-archive blocks',
      code: 'TRUNCATED_TAR',
      script: 'head -c 2048 /payload/good.tar\n',
      payload: async () => ({ 'good.tar': await goodTar() }),
      message: /no end-of-archive marker/,
    },
    {
      kase: '.. entry name',
      code: 'UNSAFE_PATH',
      script: 'cat /payload/evil.tar\n',
      payload: async () => ({ 'evil.tar': await makeTar([{ name: 'a/../../x', content: 'x' }]) }),
      message: /climbs out/,
    },
    { kase: '10 MiB of zeros', code: 'NOT_A_TAR', script: 'head -c 10485760 /dev/zero\n', message: /empty archive/ },
    { kase: 'bzip2-compressed tar', code: 'NOT_A_TAR', script: 'tar -cf - -C /payload . | bzip2 -c\n', message: /bzip2-compressed[\s\S]*gzip/ },
    {
      kase: 'hard link outside',
      code: 'UNSAFE_PATH',
      script: 'cat /payload/evil.tar\n',
      payload: async () => ({ 'evil.tar': await makeTar([{ name: 'h', type: 'link', linkname: '../../etc/shadow' }]) }),
      message: /hard link/,
    },
    {
      kase: 'symlink outside',
      code: 'UNSAFE_PATH',
      script: 'cat /payload/evil.tar\n',
      payload: async () => ({ 'evil.tar': await makeTar([{ name: 's', type: 'symlink', linkname: '../../../etc' }]) }),
      message: /symlink/,
    },
    {
      kase: '4 MB of trailing garbage',
      code: 'TRAILING_DATA',
      script: 'cat /payload/good.tar; head -c 4000000 /dev/urandom\n',
      payload: async () => ({ 'good.tar': await goodTar() }),
    },
    {
      kase: 'whole tar, then exit 7',
      code: 'BUILDER_EXIT',
      script: 'cat /payload/good.tar; echo "lint failed" >&2; exit 7\n',
      payload: async () => ({ 'good.tar': await goodTar() }),
      message: /exited with code 7[\s\S]*lint failed/,
    },
    {
      kase: '580 bytes of text, then exit 1',
      code: 'BUILDER_EXIT',
      script: 'i=0; while [ $i -lt 20 ]; do echo "compiling module $i ..."; i=$((i+1)); done | head -c 580; echo "error: linker failed" >&2; exit 1\n',
      message: /exited with code 1[\s\S]*linker failed/,
    },
    {
      kase: 'exit 1 in the middle of the tar',
      code: 'BUILDER_EXIT',
      script: 'head -c 1000 /payload/good.tar; exit 1\n',
      payload: async () => ({ 'good.tar': await goodTar() }),
    },
    { kase: 'never exits', code: 'TIMEOUT', script: 'while true; do echo still compiling >&2; sleep 1; done\n', args: ['--timeout', '3'] },
  ];

  for (const builder of BUILDERS) {
    for (const c of cases) {
      it(`${c.kase} (${builder})`, async () => {
        const tag = `dc-f-${c.kase.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`.replace(/-+$/, '') + `-${builder}`;
        const dir = pair(c.script, { payload: await c.payload?.() });
        const result = await runCli(['build', dir, '--tag', tag, '--json', '--builder', builder, ...(c.args ?? [])]);
        await expectFailure(builder === 'legacy' ? c.kase : `${c.kase} (BuildKit)`, result, c.code, 1, tag, c.message);
        assert.deepEqual(await contextCacheRecords(), [], 'build-context records left in the build cache');
        await removeImages(`${tag}-builder`);
      });
    }
  }

  it('a stderr flood while streaming still builds, and the flood reaches the progress', async () => {
    const dir = pair(
      'i=0; while [ $i -lt 20000 ]; do echo "warning: line $i of noise from the compiler" >&2; i=$((i+1)); done & cat /payload/good.tar; wait\n',
      {
        payload: { 'good.tar': await goodTar() },
      },
    );
    const result = await runCli(['build', dir, '--tag', 'dc-f-flood', '--json']);
    assert.equal(jsonOf(result).ok, true, result.stderr.slice(-1000));
    assert.match(result.stderr, /builder\| warning: line 19999 of noise/);
    rows.push({ kase: 'stderr flood (20 000 lines) while streaming', exit: result.code, code: 'ok', message: 'builds; every stderr line shown as progress' });
    await removeImages('dc-f-flood', 'dc-f-flood-builder');
  });

  it('a 2 GiB output streams through with flat memory', { skip: !existsTime() && 'GNU time (/usr/bin/time) is not installed' }, async () => {
    // A sparse 2 GiB file: tar reads it as 2 GiB of data without the disk holding it.
    const dir = pair('', {
      builder: `FROM ${BUSYBOX}\nRUN mkdir /o && truncate -s 2G /o/big && printf 'FROM scratch\\nLABEL big=1\\n' > /o/Dockerfile\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n`,
      runtime: 'FROM scratch\nLABEL big=1\n',
    });
    const rss = (args: string[]) => {
      const run = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, CLI, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
      return { status: run.status, kib: Number(run.stderr.trim().split('\n').pop()), stdout: run.stdout };
    };
    const idle = rss(['build', dir, '--host', 'unix:///nonexistent.sock', '--json']); // loads everything, then fails fast
    const big = rss(['build', dir, '--tag', 'dc-f-2gib', '--json']);
    assert.equal(big.status, 0, big.stdout);
    const out = JSON.parse(big.stdout);
    assert.ok(out.context.bytes > 2 * 1024 ** 3, `context ${out.context.bytes} bytes`);
    const growthMiB = (big.kib - idle.kib) / 1024;
    rows.push({
      kase: '2 GiB output',
      exit: big.status,
      code: 'ok',
      message: `builds; peak RSS ${(big.kib / 1024).toFixed(0)} MiB, ${growthMiB.toFixed(0)} MiB above an idle CLI`,
    });
    assert.ok(growthMiB <= 64, `peak RSS grew ${growthMiB.toFixed(1)} MiB over the idle CLI (${(idle.kib / 1024).toFixed(1)} MiB)`);
    await removeImages('dc-f-2gib', 'dc-f-2gib-builder');
  });

  it('leaks no engine temp dir', () => {
    assert.deepEqual(
      engineTemp().filter((d) => !tempBefore.includes(d)),
      [],
    );
  });
});

function existsTime(): boolean {
  return spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0;
}

describe('engine faults', () => {
  const needRoot = !isRoot && "starting a dockerd of the tests' own needs root";
  // The engine these cases stop, kill and restart is the tests' own: the machine's engine, and whatever
  // runs on it, is never touched.
  let engine: PrivateEngine;
  const noDockerHost = () => ({ ...process.env, DOCKER_HOST: '' });
  before(async () => {
    if (needRoot) return;
    engine = new PrivateEngine('faults');
    await engine.start();
    engine.loadFrom([BUSYBOX]);
  });
  after(async () => {
    await engine?.remove();
  });

  it('engine down at the start', { skip: needRoot }, async () => {
    const dir = pair('cat /payload/good.tar\n', { payload: { 'good.tar': await goodTar() } });
    await engine.stop('SIGTERM');
    try {
      const result = await runCli(['build', dir, '--tag', 'dc-f-down', '--json', '--host', engine.url], { env: noDockerHost() });
      const out = jsonOf(result);
      rows.push({
        kase: 'engine down at the start',
        exit: result.code,
        code: out.error?.code,
        message: out.error?.message.replace(engine.url, 'unix:///…/docker.sock'),
      });
      assert.equal(out.error.code, 'ENGINE_UNREACHABLE');
      assert.equal(result.code, 3);
      assert.match(out.error.message, /unix:\/\/\/.*docker\.sock.*Nothing is listening there: start Docker/);
    } finally {
      await engine.start();
    }
  });

  for (const phase of ['builder-run', 'runtime-build'] as const) {
    it(`dockerd restarted during the ${phase.replace('-', ' ')}`, { skip: needRoot }, async () => {
      const dir =
        phase === 'builder-run'
          ? pair('echo started >&2; sleep 60\n')
          : pair('cat /payload/good.tar\n', {
              payload: { 'good.tar': await makeTar([{ name: 'hello.txt', content: 'x' }]) },
              runtime: `FROM ${BUSYBOX}\nRUN echo runtime-started-$((6*7)) && sleep 30\n`,
            });
      // Markers the step line itself does not contain: the shell computes them, so they show the step runs.
      const marker = phase === 'builder-run' ? 'builder| started' : 'runtime-started-42';
      let restart: Promise<void> | undefined;
      const tag = `dc-f-restart-${phase}`;
      const result = await runCli(['build', dir, '--tag', tag, '--json', '--host', engine.url], {
        env: noDockerHost(),
        onStderr: (text) => {
          if (!restart && text.includes(marker)) restart = engine.restart('SIGKILL');
        },
      });
      assert.ok(restart, `never reached the ${phase}:\n${result.stderr.slice(-1500)}`);
      await restart;
      await expectFailure(
        `dockerd restarted during the ${phase.replace('-', ' ')}`,
        result,
        'ENGINE_UNREACHABLE',
        3,
        tag,
        /connection to the Docker engine broke/,
        engine,
      );
      engine.docker('rmi', `${tag}-builder`);
    });
  }

  it('socket permission denied', { skip: needRoot }, async () => {
    const dir = pair('cat /payload/good.tar\n', { payload: { 'good.tar': await goodTar() } });
    for (let d = dir; d !== path.dirname(d) && d.startsWith('/tmp/'); d = path.dirname(d)) chmodSync(d, 0o755);
    const run = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, CLI, 'build', dir, '--json'], {
      encoding: 'utf8',
      env: { ...process.env, DOCKER_HOST: '', HOME: '/tmp' },
    });
    const out = JSON.parse(run.stdout.trim());
    rows.push({ kase: 'socket permission denied', exit: run.status, code: out.error?.code, message: out.error?.message });
    assert.equal(out.error.code, 'ENGINE_UNREACHABLE');
    assert.equal(run.status, 3);
    assert.match(out.error.message, /Permission denied on the socket: add your user to the 'docker' group/);
  });

  it('a wrong DOCKER_HOST', async () => {
    const dir = pair('cat /payload/good.tar\n', { payload: { 'good.tar': await goodTar() } });
    const result = await runCli(['build', dir, '--json'], { env: { ...process.env, DOCKER_HOST: 'tcp://127.0.0.1:9' } });
    const out = jsonOf(result);
    rows.push({ kase: 'a wrong DOCKER_HOST', exit: result.code, code: out.error.code, message: out.error.message });
    assert.equal(out.error.code, 'ENGINE_UNREACHABLE');
    assert.match(out.error.message, /tcp:\/\/127\.0\.0\.1:9 .*It comes from DOCKER_HOST/);
  });

  for (const phase of ['builder-build', 'builder-run', 'runtime-build'] as const) {
    it(`Ctrl-C (SIGINT) during the ${phase.replace('-', ' ')}`, async () => {
      const dir = {
        'builder-build': () => pair('', { builder: `FROM ${BUSYBOX}\nRUN echo builder-building-$((6*7)) && sleep 60\n` }),
        'builder-run': () => pair('echo builder-running >&2; sleep 60\n'),
        'runtime-build': () => pair('tar -cf - -C /etc passwd\n', { runtime: `FROM ${BUSYBOX}\nRUN echo runtime-building-$((6*7)) && sleep 60\n` }),
      }[phase]();
      const marker = { 'builder-build': 'builder-building-42', 'builder-run': 'builder-running', 'runtime-build': 'runtime-building-42' }[phase];
      let sent = false;
      const tag = `dc-f-sigint-${phase}`;
      const result = await runCli(['build', dir, '--tag', tag, '--json', ...(phase === 'builder-build' ? ['--no-cache'] : [])], {
        onStderr: (text, child) => {
          if (!sent && text.includes(marker)) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      });
      assert.ok(sent, result.stderr.slice(-1500));
      await expectFailure(`Ctrl-C during the ${phase.replace('-', ' ')}`, result, 'CANCELLED', 130, tag);
      assert.equal(jsonOf(result).error.phase, phase);
      await removeImages(`${tag}-builder`);
    });
  }
});

describe('load', () => {
  it('50 builds in a row', async () => {
    const engine = await testEngine();
    const dir = pair('cat /payload/good.tar\n', { payload: { 'good.tar': await goodTar() } });
    const p = await pairAt(dir);
    for (let i = 0; i < 50; i++) {
      const result = await buildPair(engine, p, { tag: 'dc-f-fifty', force: true });
      assert.equal(result.ok, true);
    }
    assert.deepEqual(await leftovers(), []);
    rows.push({ kase: '50 builds in a row', exit: 0, code: 'ok', message: 'all 50 succeed; 0 containers left' });
    await removeImages('dc-f-fifty', 'dc-f-fifty-builder');
  });

  it('two pairs at once, and the same pair twice at once', async () => {
    const a = pair('cat /payload/good.tar\n', { payload: { 'good.tar': await goodTar() } });
    const b = pair('sleep 1; cat /payload/good.tar\n', { payload: { 'good.tar': await goodTar() } });
    const results = await Promise.all([
      runCli(['build', a, '--tag', 'dc-f-par-a', '--json']),
      runCli(['build', b, '--tag', 'dc-f-par-b', '--json']),
      runCli(['build', b, '--tag', 'dc-f-par-b', '--json']),
    ]);
    for (const r of results) assert.equal(jsonOf(r).ok, true, r.stderr.slice(-1500));
    assert.deepEqual(await leftovers(), []);
    assert.equal(await imageExists('dc-f-par-a'), true);
    assert.equal(await imageExists('dc-f-par-b'), true);
    rows.push({ kase: 'two pairs at once; the same pair twice at once (CLI)', exit: 0, code: 'ok', message: 'all succeed; 0 containers left' });
    await removeImages('dc-f-par-a', 'dc-f-par-a-builder', 'dc-f-par-b', 'dc-f-par-b-builder');
  });

  it('the next build succeeds', async () => {
    const dir = pair('cat /payload/good.tar\n', { payload: { 'good.tar': await goodTar() } });
    const result = await runCli(['build', dir, '--tag', 'dc-f-next', '--json']);
    assert.equal(jsonOf(result).ok, true, result.stderr.slice(-1500));
    await removeImages('dc-f-next', 'dc-f-next-builder');
  });
});

after(() => {
  for (const dir of dirs) removeDir(path.dirname(dir));
  const table = [
    '| case | exit | code | what the user sees (first line) |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.kase} | ${r.exit} | ${r.code} | ${r.message.replace(/\|/g, '\\|')} |`),
  ];
  mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
  writeFileSync(path.join(ROOT, 'test-artifacts', 'faults.md'), `${table.join('\n')}\n`);
});
