// The whole pipeline against the real engine, through the CLI users run: the examples, every error code
// with a builder that provokes it, cancelling, and what is left behind (nothing).
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildPair, DockerceptionError, pairAt } from '../../src/core';
import {
  BUILDERS,
  BUSYBOX,
  ROOT,
  contextCacheRecords,
  docker,
  imageExists,
  jsonOf,
  leftovers,
  makeBuilderPair,
  makeDir,
  makeTar,
  removeDir,
  removeImages,
  runCli,
  testEngine,
} from './helpers';

const ENGINE_TMP = '/var/lib/docker/tmp';
function engineTempDirs(): string[] {
  try {
    return readdirSync(ENGINE_TMP).filter((name) => name.startsWith('docker-builder'));
  } catch {
    return []; // not root, or another data root: nothing we can count
  }
}

for (const builder of BUILDERS)
  describe(`examples through the CLI (${builder})`, () => {
    const goTag = `dc-test-hello-go-${builder}`;
    after(() => removeImages(goTag, `${goTag}-builder`, 'dc-test-hello-c', 'dc-test-hello-c-builder'));

    it('hello-go: the seed example with a scratch runtime under 7 MB, sizes side by side', async () => {
      const result = await runCli(['build', 'examples/hello-go', '--tag', goTag, '--builder', builder, '--json']);
      assert.equal(result.code, 0, result.stderr);
      const out = jsonOf(result);
      assert.equal(out.ok, true);
      assert.equal(out.runtime.tag, goTag);
      assert.equal(out.builder.tag, `${goTag}-builder:latest`);
      assert.equal(out.engineBuilder.builder, builder);
      assert.match(
        result.stderr,
        new RegExp(`Building with ${builder === 'buildkit' ? 'BuildKit' : 'the legacy builder'}: the builder setting says ${builder}`),
      );
      assert.ok(out.runtime.size > 1_000_000 && out.runtime.size <= 7_000_000, `runtime ${out.runtime.size} bytes`);
      assert.ok(out.builder.size > 100 * out.runtime.size, `builder ${out.builder.size} vs runtime ${out.runtime.size}`);
      assert.equal(out.context.dockerfileSource, 'builder-output');
      assert.equal(out.context.entries, 2);
      for (const key of ['builderBuildMs', 'builderRunMs', 'runtimeBuildMs', 'totalMs']) assert.equal(typeof out.timings[key], 'number', key);
      const inspect = JSON.parse(await docker('image', 'inspect', goTag))[0];
      assert.equal(inspect.Id, out.runtime.id);
      assert.deepEqual(Object.keys(inspect.Config.ExposedPorts), ['8001/tcp']);
      assert.match(result.stderr, /\[builder \d+\/\d+\] RUN .*go build/);
      assert.match(result.stderr, /\[runtime \d+\/\d+\] COPY app \/app/); // BuildKit does not count FROM scratch as a step

      // Where the bytes are: the layers add up to the image, and the binary is the largest file.
      const inspected = await runCli(['inspect', 'examples/hello-go', '--tag', goTag, '--json']);
      assert.equal(inspected.code, 0, inspected.stderr);
      const report = jsonOf(inspected);
      assert.equal(report.runtime.size, out.runtime.size);
      assert.equal(report.builder.size, out.builder.size);
      assert.equal(
        report.runtime.layers.reduce((sum: number, l: { size: number }) => sum + l.size, 0),
        out.runtime.size,
      );
      assert.ok(
        report.runtime.layers.some((l: { step: string; size: number }) => /^COPY /.test(l.step) && l.size > 1_000_000),
        JSON.stringify(report.runtime.layers),
      );
      assert.deepEqual(
        report.runtime.largestFiles.map((f: { path: string }) => f.path),
        ['/app'],
      );
      assert.ok(report.runtime.largestFiles[0].size <= out.runtime.size && report.runtime.largestFiles[0].size > 0.95 * out.runtime.size);
      assert.deepEqual(await leftovers(), [], 'the export container is removed');
      const human = await runCli(['inspect', 'examples/hello-go', '--tag', goTag]);
      assert.match(human.stdout, /Runtime layers \(oldest first\):\n[\s\S]*COPY [\s\S]*Largest files:\n\s+[\d.]+ MB\s+\/app/);
      assert.deepEqual(await contextCacheRecords(), [], 'no build-context records left in the build cache');
    });

    it('hello-c: a builder that writes only the binary gets the pair Dockerfile.run; the image runs', async () => {
      const result = await runCli(['build', 'examples/hello-c', '--tag', 'dc-test-hello-c', '--builder', builder]);
      assert.equal(result.code, 0, result.stderr);
      // Human mode: the side-by-side table on stdout, progress on stderr.
      assert.match(result.stdout, /^\s+builder\s+runtime\s+runtime is$/m);
      assert.match(result.stdout, /^image\s+dc-test-hello-c-builder:latest\s+dc-test-hello-c$/m);
      // gcc's 786 MB against a ~700 kB binary: a ratio, not a "−100%" that says nothing.
      assert.match(result.stdout, /^size\s+\d[\d.]* MB\s+\d[\d.]* kB\s+\d{3,4}× smaller$/m);
      assert.match(result.stderr, /Runtime Dockerfile from the pair's Dockerfile\.run/);
      assert.equal((await docker('run', '--rm', 'dc-test-hello-c')).trim(), 'Hello from a Dockerception runtime image built with gcc.');
    });
  });

describe('builder outputs docker build - accepts', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) removeDir(path.dirname(dir));
    await removeImages('dc-test-rootfs', 'dc-test-rootfs-builder', 'dc-test-gzip', 'dc-test-gzip-builder');
  });

  it('a rootfs with absolute symlinks (bin/sh -> /bin/busybox) builds, and the image runs', async () => {
    const dir = makeBuilderPair(
      'mkdir -p /o/bin /o/etc && cp /bin/busybox /o/bin/ && ln -s /bin/busybox /o/bin/sh && ln /o/bin/busybox /o/bin/ash && echo ok > /o/etc/motd && tar -C /o -cf - .\n',
      {
        runtime: 'FROM scratch\nCOPY . /\nENTRYPOINT ["/bin/sh", "-c", "cat /etc/motd; ls -l /bin/sh | grep -o \'sh -> .*\'"]\n',
      },
    );
    dirs.push(dir);
    const result = await runCli(['build', dir, '--tag', 'dc-test-rootfs', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal((await docker('run', '--rm', 'dc-test-rootfs')).trim(), 'ok\nsh -> /bin/busybox');
  });

  it('a gzip-compressed tar builds, and the report says it was compressed', async () => {
    const dir = makeBuilderPair('mkdir -p /o && echo hi > /o/hello.txt && tar -C /o -cf - . | gzip -c\n', {
      runtime: `FROM ${BUSYBOX}\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n`,
    });
    dirs.push(dir);
    const result = await runCli(['build', dir, '--tag', 'dc-test-gzip', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(jsonOf(result).context.compression, 'gzip');
    assert.equal((await docker('run', '--rm', 'dc-test-gzip')).trim(), 'hi');
  });
});

for (const builder of BUILDERS)
  describe(`every error code, provoked for real (${builder})`, () => {
    const goodTar = makeTar([{ name: 'hello.txt', content: 'hello\n' }]);
    const dirs: string[] = [];
    let tempBefore: string[] = [];
    before(() => {
      tempBefore = engineTempDirs();
    });
    after(() => {
      for (const dir of dirs) removeDir(path.dirname(dir));
    });

    interface Case {
      code: string;
      exit: number;
      message: RegExp;
      pair: () => Promise<string>;
      args?: string[];
    }
    const cases: Case[] = [
      {
        code: 'BUILDER_BUILD_FAILED',
        exit: 1,
        message:
          /builder image failed to build at step 2\/\d+ \(RUN echo compiling && exit 3\).*(returned a non-zero code|exit code): 3[\s\S]*Last output:\n {2}compiling/,
        pair: async () => makeBuilderPair('', { builder: `FROM ${BUSYBOX}\nRUN echo compiling && exit 3\n` }),
      },
      {
        code: 'BUILDER_EXIT',
        exit: 1,
        message: /exited with code 7[\s\S]*compile error: boom/,
        pair: async () => makeBuilderPair('cat /payload/good.tar; echo "compile error: boom" >&2; exit 7\n', { payload: { 'good.tar': await goodTar } }),
      },
      {
        code: 'BUILDER_START',
        exit: 1,
        message: /builder container could not be created: the engine said "No command specified"\. Give the builder's Dockerfile a CMD/,
        pair: async () => makeBuilderPair('', { builder: 'FROM scratch\nCOPY payload /payload\n' }),
      },
      {
        code: 'NOT_A_TAR',
        exit: 1,
        message: /stdout is not a tar archive/,
        pair: async () => makeBuilderPair('echo "this is not a tar"\n'),
      },
      {
        code: 'TRUNCATED_TAR',
        exit: 1,
        message: /middle of an entry/,
        pair: async () => makeBuilderPair('mkdir -p /o && head -c 5000 /dev/urandom > /o/hello.txt && tar -cf - -C /o . | head -c 3000\n'),
      },
      {
        code: 'UNSAFE_PATH',
        exit: 1,
        message: /name '\.\.\/escape' climbs out of the context/,
        pair: async () =>
          makeBuilderPair('cat /payload/evil.tar\n', {
            payload: {
              'evil.tar': await makeTar([
                { name: 'hello.txt', content: 'x' },
                { name: '../escape', content: 'x' },
              ]),
            },
          }),
      },
      {
        code: 'TRAILING_DATA',
        exit: 1,
        message: /bytes after the end of its tar/,
        pair: async () => makeBuilderPair('cat /payload/good.tar; echo "build finished"\n', { payload: { 'good.tar': await goodTar } }),
      },
      {
        code: 'RUNTIME_BUILD_FAILED',
        exit: 1,
        message: /runtime image failed to build at step 2\/\d+ \(RUN exit 4\)/,
        pair: async () => makeBuilderPair('cat /payload/good.tar\n', { payload: { 'good.tar': await goodTar }, runtime: `FROM ${BUSYBOX}\nRUN exit 4\n` }),
      },
      {
        code: 'TIMEOUT',
        exit: 1,
        message: /longer than the 2 s timeout/,
        pair: async () => makeBuilderPair('echo working >&2; sleep 300\n'),
        args: ['--timeout', '2'],
      },
      {
        code: 'SIZE_BUDGET',
        exit: 1,
        message: /over the budget of 1 B; it was not tagged/,
        pair: async () => makeBuilderPair('cat /payload/good.tar\n', { payload: { 'good.tar': await goodTar } }),
        args: ['--max-runtime-size', '1B'],
      },
      {
        code: 'ENGINE_UNREACHABLE',
        exit: 3,
        message: /Cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker\.sock/,
        pair: async () => makeBuilderPair('cat /payload/good.tar\n', { payload: { 'good.tar': await goodTar } }),
        args: ['--host', 'unix:///nonexistent/docker.sock'],
      },
      {
        code: 'NO_PAIR',
        exit: 2,
        message: /Dockerfile\.run is missing/,
        pair: async () => path.join(makeDir({ 'x/Dockerfile': 'FROM scratch\n' }), 'x'),
      },
    ];

    for (const testCase of cases) {
      it(`${testCase.code}: exit ${testCase.exit}, a message that says what to do, nothing tagged, nothing left`, async () => {
        const dir = await testCase.pair();
        dirs.push(dir);
        const tag = `dc-t-${testCase.code.toLowerCase().replace(/_/g, '-')}-${builder}`;
        await removeImages(tag); // a tag left by an earlier, interrupted run must not pass for ours
        const result = await runCli(['build', dir, '--tag', tag, '--json', '--builder', builder, ...(testCase.args ?? [])]);
        const out = jsonOf(result);
        assert.equal(out.ok, false, result.stderr);
        assert.equal(out.error.code, testCase.code, out.error.message);
        assert.match(out.error.message, testCase.message);
        assert.equal(result.code, testCase.exit);
        assert.match(result.stderr, new RegExp(`dockerception: ${testCase.code}: `));
        assert.equal(await imageExists(tag), false, `${tag} must not be tagged`);
        assert.deepEqual(await leftovers(), []);
        if (testCase.code !== 'ENGINE_UNREACHABLE') assert.deepEqual(await contextCacheRecords(), [], 'build-context records left');
        await removeImages(`${tag}-builder`);
      });
    }

    it('leaks no engine temp dirs, and the next build succeeds', async () => {
      assert.deepEqual(
        engineTempDirs().filter((d) => !tempBefore.includes(d)),
        [],
      );
      const dir = makeBuilderPair('cat /payload/good.tar\n', { payload: { 'good.tar': await goodTar } });
      dirs.push(dir);
      const result = await runCli(['build', dir, '--tag', `dc-t-after-${builder}`, '--json', '--builder', builder]);
      assert.equal(jsonOf(result).ok, true, result.stderr);
      assert.equal(await imageExists(`dc-t-after-${builder}`), true);
      await removeImages(`dc-t-after-${builder}`, `dc-t-after-${builder}-builder`);
    });
  });

for (const builder of BUILDERS)
  describe(`cancelling (${builder})`, () => {
    const dirs: string[] = [];
    after(() => {
      for (const dir of dirs) removeDir(path.dirname(dir));
    });

    it('SIGINT during the builder run: exit 130, CANCELLED, container removed, nothing tagged', async () => {
      const dir = makeBuilderPair('echo started >&2; sleep 300\n');
      dirs.push(dir);
      const started = Date.now();
      let sent = false;
      const result = await runCli(['build', dir, '--tag', `dc-t-sigint-${builder}`, '--json', '--builder', builder], {
        onStderr: (text, child) => {
          if (!sent && text.includes('builder| started')) {
            sent = true;
            child.kill('SIGINT');
          }
        },
      });
      assert.ok(sent, `never saw the builder start:\n${result.stderr}`);
      assert.equal(result.code, 130, result.stderr);
      assert.equal(jsonOf(result).error.code, 'CANCELLED');
      assert.ok(Date.now() - started < 60_000);
      assert.equal(await imageExists(`dc-t-sigint-${builder}`), false);
      assert.deepEqual(await leftovers(), []);
      assert.deepEqual(await contextCacheRecords(), []);
      await removeImages(`dc-t-sigint-${builder}-builder`);
    });

    it("an AbortSignal (the extension's Cancel) in each phase rejects with CANCELLED and leaves nothing", async () => {
      const engine = await testEngine();
      const phases: Array<['builder-build' | 'builder-run' | 'runtime-build' | 'doctor', string, string]> = [
        ['builder-build', `FROM ${BUSYBOX}\nRUN echo step-$((6*7)) && sleep 300\n`, 'FROM scratch\n'],
        ['builder-run', `FROM ${BUSYBOX}\nCMD ["sleep", "300"]\n`, 'FROM scratch\n'],
        ['runtime-build', `FROM ${BUSYBOX}\nCMD ["tar", "-cf", "-", "-C", "/etc", "passwd"]\n`, `FROM ${BUSYBOX}\nRUN echo step-$((6*7)) && sleep 300\n`],
        // The doctor's check is short: cancelled as it starts, the image it checks is not tagged.
        ['doctor', `FROM ${BUSYBOX}\nCMD ["tar", "-cf", "-", "-C", "/etc", "passwd"]\n`, 'FROM scratch\nCOPY passwd /\n'],
      ];
      for (const [phase, builderFile, runtime] of phases) {
        const dir = makeBuilderPair('', { builder: builderFile, runtime });
        dirs.push(dir);
        const abort = new AbortController();
        const tag = `dc-t-abort-${phase}-${builder}`;
        const run = buildPair(engine, await pairAt(dir), {
          tag,
          builder,
          signal: abort.signal,
          onEvent: (event) => {
            // Cancel once the phase is under way: for the builds, once their RUN step prints (step-42 is
            // computed by the shell, so it is the step's output, not its instruction line).
            const underWay =
              (phase === 'builder-build' && event.type === 'log' && event.source === 'builder-build' && event.line.trim() === 'step-42') ||
              (phase === 'builder-run' && event.type === 'phase' && event.phase === 'builder-run') ||
              (phase === 'runtime-build' && event.type === 'log' && event.source === 'runtime-build' && event.line.trim() === 'step-42') ||
              (phase === 'doctor' && event.type === 'phase' && event.phase === 'doctor');
            if (underWay) setTimeout(() => abort.abort(), phase === 'doctor' ? 0 : 300);
          },
        });
        await assert.rejects(run, (error: DockerceptionError) => {
          assert.equal(error.code, 'CANCELLED', `${phase}: ${error.message}`);
          assert.equal(error.phase, phase);
          return true;
        });
        assert.equal(await imageExists(tag), false);
        assert.deepEqual(await leftovers(), [], phase);
        assert.deepEqual(await contextCacheRecords(), [], `${phase}: build-context records left`);
        await removeImages(`${tag}-builder`);
      }
    });
  });

describe('rebuilding: up to date only when nothing changed', () => {
  const dirs: string[] = [];
  const records = makeDir({}, 'dc-records-');
  const tag = 'dc-t-rebuild';
  after(async () => {
    for (const dir of dirs) removeDir(path.dirname(dir));
    removeDir(records);
    await removeImages(tag, `${tag}-builder`);
  });

  /** A pair whose output holds its source file and a build arg; its Dockerfile.run copies them. */
  function rebuildPair(): string {
    const dir = makeBuilderPair('mkdir -p /o && cp /payload/source.txt /o/ && echo "$FLAVOUR" > /o/flavour && tar -cf - -C /o .\n', {
      builder: `FROM ${BUSYBOX}\nARG FLAVOUR=plain\nENV FLAVOUR=$FLAVOUR\nCOPY payload /payload\nCMD ["sh", "/payload/run.sh"]\n`,
      runtime: `FROM ${BUSYBOX}\nCOPY source.txt flavour /\nCMD ["cat", "/source.txt", "/flavour"]\n`,
      payload: { 'source.txt': 'version 1\n' },
    });
    dirs.push(dir);
    return dir;
  }

  async function rebuild(dir: string, options: { buildArgs?: Record<string, string>; force?: boolean; noCache?: boolean } = {}) {
    const phases: string[] = [];
    const result = await buildPair(await testEngine(), await pairAt(dir), {
      tag,
      recordsDir: records,
      ...options,
      onEvent: (event) => event.type === 'phase' && phases.push(event.message),
    });
    return { result, phases: phases.join('\n') };
  }

  it('skips the builder run and the runtime build when nothing changed, and says why', async () => {
    const dir = rebuildPair();
    const first = await rebuild(dir);
    assert.equal(first.result.upToDate, false);
    const again = await rebuild(dir);
    assert.equal(again.result.upToDate, true);
    assert.equal(again.result.runtime.id, first.result.runtime.id);
    assert.equal(again.result.timings.builderRunMs, 0);
    assert.match(again.phases, /Up to date: dc-t-rebuild was built from the same builder image, Dockerfile\.run, build args, builder, network and base images/);
    assert.doesNotMatch(again.phases, /Running dc-t-rebuild-builder/);
    assert.deepEqual(again.result.context, first.result.context);
    assert.equal((await docker('run', '--rm', tag)).trim(), 'version 1\nplain');

    // Nothing else counts: a file the builder context leaves out (.dockerignore) changes nothing.
    // (payload/ is what the builder COPYs: a change there that is not ignored makes a new builder image.)
    writeFileSync(path.join(dir, '.dockerignore'), 'payload/notes.txt\n');
    for (const draft of ['draft 1\n', 'draft 2\n']) {
      writeFileSync(path.join(dir, 'payload', 'notes.txt'), draft);
      const ignored = await rebuild(dir);
      assert.equal(ignored.result.upToDate, true, ignored.phases);
    }
    assert.deepEqual(await leftovers(), []);
  });

  it('runs everything when a source, a build arg or Dockerfile.run changed, or with --force / --no-cache', async () => {
    const dir = rebuildPair();
    await rebuild(dir);
    writeFileSync(path.join(dir, 'payload', 'source.txt'), 'version 2\n');
    const source = await rebuild(dir);
    assert.equal(source.result.upToDate, false);
    assert.match(source.phases, /Building the runtime image: the builder image changed/);
    assert.equal((await docker('run', '--rm', tag)).trim(), 'version 2\nplain');

    const arg = await rebuild(dir, { buildArgs: { FLAVOUR: 'spicy' } });
    assert.equal(arg.result.upToDate, false);
    assert.match(arg.phases, /the build args changed/);
    assert.equal((await docker('run', '--rm', tag)).trim(), 'version 2\nspicy');
    assert.equal((await rebuild(dir, { buildArgs: { FLAVOUR: 'spicy' } })).result.upToDate, true);

    appendFileSync(path.join(dir, 'Dockerfile.run'), 'LABEL changed=yes\n');
    const runtime = await rebuild(dir, { buildArgs: { FLAVOUR: 'spicy' } });
    assert.equal(runtime.result.upToDate, false);
    assert.match(runtime.phases, /Dockerfile\.run changed/);

    for (const option of [{ force: true }, { noCache: true }]) {
      const forced = await rebuild(dir, { buildArgs: { FLAVOUR: 'spicy' }, ...option });
      assert.equal(forced.result.upToDate, false, JSON.stringify(option));
      assert.match(forced.phases, /Running dc-t-rebuild-builder/);
    }
  });

  it('runs everything when the runtime image was removed or retagged, or was built on another engine', async () => {
    const dir = rebuildPair();
    await rebuild(dir);
    await removeImages(tag);
    const removed = await rebuild(dir);
    assert.equal(removed.result.upToDate, false);
    assert.match(removed.phases, /no image is tagged dc-t-rebuild/);

    await docker('tag', BUSYBOX, tag);
    const retagged = await rebuild(dir);
    assert.equal(retagged.result.upToDate, false);
    assert.match(retagged.phases, /has no record of a Dockerception build here/);

    // The record names the engine it was made on; one made elsewhere is not trusted here.
    const file = path.join(records, `${retagged.result.runtime.id.replace(/^sha256:/, '')}.json`);
    const record = JSON.parse(readFileSync(file, 'utf8'));
    record.inputs.engineId = 'another-engine';
    writeFileSync(file, JSON.stringify(record));
    const elsewhere = await rebuild(dir);
    assert.equal(elsewhere.result.upToDate, false);
    assert.match(elsewhere.phases, /it was built on another engine/);
  });

  it('the CLI says "Up to date" and reports upToDate in --json', async () => {
    await removeImages(tag); // the tests above left it built from the very same inputs
    const dir = rebuildPair();
    const env = { ...process.env, DOCKERCEPTION_STATE_DIR: records };
    assert.equal(jsonOf(await runCli(['build', dir, '--tag', tag, '--json'], { env })).upToDate, false);
    const again = await runCli(['build', dir, '--tag', tag, '--json'], { env });
    assert.equal(jsonOf(again).upToDate, true);
    assert.match(again.stderr, /==> Up to date: /);
    assert.equal(jsonOf(await runCli(['build', dir, '--tag', tag, '--json', '--force'], { env })).upToDate, false);
  });

  it('a changed Dockerfile.run is up to date when the builder writes its own Dockerfile (which is used instead)', async () => {
    const dir = makeBuilderPair(
      'mkdir -p /o && cp /payload/source.txt /o/ && printf "FROM scratch\\nCOPY source.txt /\\n" > /o/Dockerfile && tar -cf - -C /o .\n',
      {
        payload: { 'source.txt': 'own\n' },
      },
    );
    dirs.push(dir);
    assert.equal((await rebuild(dir)).result.context.dockerfileSource, 'builder-output');
    appendFileSync(path.join(dir, 'Dockerfile.run'), '# unused\n');
    const again = await rebuild(dir);
    assert.equal(again.result.upToDate, true, again.phases);
  });
});

describe('local failures are not engine failures', () => {
  it('Dockerfile.run removed after the pair was found: the builder runs; NO_PAIR naming it and what fits the tar, not ENGINE_UNREACHABLE', async () => {
    const dir = makeBuilderPair('cat /payload/good.tar\n', {
      payload: {
        'good.tar': await makeTar([
          { name: 'hello.txt', content: 'hi\n' },
          { name: 'bin/hi', content: '#!/bin/sh\n', mode: 0o755 },
        ]),
      },
    });
    try {
      const pair = await pairAt(dir);
      rmSync(pair.runtimeDockerfile);
      const error = await buildPair(await testEngine(), pair, { tag: 'dc-t-local', force: true }).then(
        () => assert.fail('the build should fail'),
        (e: unknown) => e as DockerceptionError,
      );
      assert.equal(error.code, 'NO_PAIR', error.message);
      assert.equal(error.phase, 'builder-run');
      assert.match(
        error.message,
        /Dockerfile\.run is missing and the builder's tar has no Dockerfile, so the runtime image has nothing to build from\. The tar holds \d+ entries \(/,
      );
      assert.match(error.message, /for this tar: FROM scratch; COPY \. \/; ENTRYPOINT \["\/bin\/hi"\]/);
      assert.match(error.runtimeDockerfile ?? '', /\nFROM scratch\nCOPY \. \/\nENTRYPOINT \["\/bin\/hi"\]\n$/);
      assert.deepEqual(await leftovers(), []);
    } finally {
      removeDir(path.dirname(dir));
      await removeImages('dc-t-local', 'dc-t-local-builder');
    }
  });

  it('Dockerfile.run removed, and the builder writes its own Dockerfile: it builds', async () => {
    const dir = makeBuilderPair('mkdir -p /o && echo own > /o/own.txt && printf "FROM scratch\\nCOPY own.txt /\\n" > /o/Dockerfile && tar -cf - -C /o .\n');
    try {
      const pair = await pairAt(dir);
      rmSync(pair.runtimeDockerfile);
      const result = await buildPair(await testEngine(), pair, { tag: 'dc-t-own', force: true });
      assert.equal(result.context.dockerfileSource, 'builder-output');
      assert.deepEqual(await leftovers(), []);
    } finally {
      removeDir(path.dirname(dir));
      await removeImages('dc-t-own', 'dc-t-own-builder');
    }
  });
});

describe("the builder's network", () => {
  const dirs: string[] = [];
  const records = makeDir({}, 'dc-records-');
  const env = { ...process.env, DOCKERCEPTION_STATE_DIR: records };
  const tag = 'dc-t-network';
  after(async () => {
    for (const dir of dirs) removeDir(path.dirname(dir));
    removeDir(records);
    await removeImages(tag, `${tag}-builder`);
  });
  const pair = (script: string) => {
    const dir = makeBuilderPair(script, { runtime: `FROM ${BUSYBOX}\nCOPY hello.txt /\nCMD ["cat", "/hello.txt"]\n` });
    dirs.push(dir);
    return dir;
  };

  it('is none by default; --builder-network gives one, and changing it builds again', async () => {
    const dir = pair('mkdir -p /o && ls /sys/class/net | tr "\\n" " " > /o/hello.txt && tar -cf - -C /o .\n');
    const none = await runCli(['build', dir, '--tag', tag, '--json'], { env });
    assert.equal(jsonOf(none).ok, true, none.stderr);
    assert.equal((await docker('run', '--rm', tag)).trim(), 'lo');
    const bridged = await runCli(['build', dir, '--tag', tag, '--json', '--builder-network', 'default'], { env });
    assert.equal(jsonOf(bridged).upToDate, false, bridged.stderr);
    assert.match(bridged.stderr, /the builder's network changed \(none → default\)/);
    assert.match((await docker('run', '--rm', tag)).trim(), /^eth0 lo$/);
    assert.deepEqual(await leftovers(), []);
  });

  it('a builder that fails for want of a network is told how to get one', async () => {
    const dir = pair('nslookup example.com >&2 || exit 1\n');
    const result = await runCli(['build', dir, '--tag', tag, '--json'], { env });
    const { error } = jsonOf(result);
    assert.equal(error.code, 'BUILDER_EXIT');
    assert.match(error.message, /Network is unreachable[\s\S]*ran with no network[\s\S]*--builder-network default/);
  });

  it('a network the engine does not have: BUILDER_START naming it, nothing left', async () => {
    const dir = pair('echo unreachable\n');
    const result = await runCli(['build', dir, '--tag', tag, '--json', '--builder-network', 'dc-no-such-network', '--force'], { env });
    const { error } = jsonOf(result);
    assert.equal(error.code, 'BUILDER_START', error.message);
    assert.match(error.message, /network 'dc-no-such-network' is not one the engine has/);
    assert.equal(result.code, 1);
    assert.deepEqual(await leftovers(), []);
  });

  it('a builder image with a VOLUME leaves no volume behind', async () => {
    const dir = makeBuilderPair('mkdir -p /o && echo hi > /o/hello.txt && tar -cf - -C /o .\n', {
      builder: `FROM ${BUSYBOX}\nVOLUME /data\nCOPY payload /payload\nCMD ["sh", "/payload/run.sh"]\n`,
    });
    dirs.push(dir);
    const result = await runCli(['build', dir, '--tag', tag, '--json', '--force'], { env });
    assert.equal(jsonOf(result).ok, true, result.stderr);
    assert.deepEqual(await leftovers(), []);
  });
});

describe('the builder exit status', () => {
  it('is known for builders that exit at once, every time (20 builds in a row)', { timeout: 180_000 }, async () => {
    const engine = await testEngine();
    const dir = makeBuilderPair('', {
      payload: { 'good.tar': await makeTar([{ name: 'hello.txt', content: 'hi\n' }]) },
      builder: `FROM ${BUSYBOX}\nCOPY payload /payload\nCMD ["cat", "/payload/good.tar"]\n`,
    });
    try {
      for (let i = 0; i < 20; i++) {
        const result = await buildPair(engine, await pairAt(dir), { tag: 'dc-t-instant', force: true });
        assert.equal(result.context.entries, 2, `build ${i}`);
      }
      assert.deepEqual(await leftovers(), []);
    } finally {
      removeDir(path.dirname(dir));
      await removeImages('dc-t-instant', 'dc-t-instant-builder');
    }
  });
});

describe('list', () => {
  it('lists the examples as JSON', async () => {
    const result = await runCli(['list', 'examples', '--json']);
    assert.equal(result.code, 0);
    const { pairs } = jsonOf(result);
    assert.deepEqual(
      pairs.map((p: { name: string }) => p.name),
      ['hello-c', 'hello-cache', 'hello-doctor', 'hello-go'],
    );
    assert.equal(pairs[3].dir, path.join(ROOT, 'examples', 'hello-go'));
    assert.deepEqual(Object.keys(pairs[0]).sort(), ['builderDockerfile', 'dir', 'name', 'runtimeDockerfile']);
  });

  it('rejects unknown commands and options with exit 2 and the usage', async () => {
    for (const args of [['frobnicate'], ['build', '--bogus'], ['build', '.', '--timeout', 'soon']]) {
      const result = await runCli(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /Usage:/);
    }
  });
});
