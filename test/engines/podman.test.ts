import * as assert from 'node:assert/strict';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeEngine, connectEngine, isPodmanByPing } from '../../src/core';
import { PodmanService } from '../support/endpoints/podman';
import { BUSYBOX, jsonOf, makeBuilderPair, makeTar, removeDir, runCli } from '../unit/helpers';

const isRoot = process.getuid?.() === 0;

describe('Podman (podman system service), through its Docker-compatible API', { skip: !isRoot && 'the Podman service here runs as root' }, () => {
  let podman: PodmanService;
  const dirs: string[] = [];
  const pair = (script: string, options: Parameters<typeof makeBuilderPair>[1] = {}) => {
    const dir = makeBuilderPair(script, options);
    dirs.push(path.dirname(dir));
    return dir;
  };
  const build = (dir: string, ...args: string[]) => runCli(['build', dir, '--host', podman.url, '--json', ...args]);
  const containers = () => podman.docker('ps', '-aq').stdout.trim().split('\n').filter(Boolean);
  const tagged = (ref: string) => podman.docker('image', 'inspect', ref).status === 0;

  before(async () => {
    podman = new PodmanService();
    await podman.start();
    podman.loadFrom([BUSYBOX]);
  });
  after(async () => {
    await podman?.remove();
    for (const dir of dirs) removeDir(dir);
  });

  it('is named as Podman by `dockerception engine`', async () => {
    const result = await runCli(['engine', '--json', '--host', podman.url]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(jsonOf(result).version.api, /^1\.\d+$/);
    // The version comes from Podman's /_ping (Server: Libpod/X): it must be what its /version says.
    const answer = await new Promise<{ Version: string; ApiVersion: string; Components?: Array<{ Name: string }> }>((resolve, reject) => {
      http
        .get({ socketPath: podman.url.replace(/^unix:\/\//, ''), path: '/version' }, (res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve(JSON.parse(body)));
        })
        .on('error', reject);
    });
    assert.deepEqual(jsonOf(result).version, { engine: answer.Version, api: answer.ApiVersion });
    // Podman or not, from the ping (the engine's id depends on it), as its /version's components say.
    const engine = await connectEngine({ host: podman.url });
    try {
      assert.equal(isPodmanByPing(engine.docker), true);
      assert.ok(
        answer.Components?.some((c) => /podman/i.test(c.Name)),
        JSON.stringify(answer.Components),
      );
    } finally {
      closeEngine(engine);
    }
  });

  it('builds a pair with Buildah, reports both sizes, and the second build is up to date', async () => {
    const dir = pair('mkdir -p /o && echo hello > /o/hello.txt && tar -C /o -cf - .\n');
    const first = await build(dir, '--tag', 'dc-pm-hello');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /Building with the legacy builder: the engine is Podman, which builds with Buildah/);
    const result = jsonOf(first);
    assert.ok(result.builder.size > 1_000_000 && result.runtime.size > 0 && result.runtime.size < 100_000, JSON.stringify(result));
    assert.ok(tagged('dc-pm-hello'));
    const again = await build(dir, '--tag', 'dc-pm-hello');
    assert.equal(jsonOf(again).upToDate, true, again.stderr);
    assert.deepEqual(containers(), []);
  });

  it('says that --builder buildkit does not apply, and builds', async () => {
    const dir = pair('mkdir -p /o && echo bk > /o/hello.txt && tar -C /o -cf - .\n');
    const result = await build(dir, '--tag', 'dc-pm-bk', '--builder', 'buildkit');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /the builder setting \(buildkit\) does not apply there/);
  });

  it('inspect: layers, largest files and the doctor, from an export through Podman', async () => {
    const dir = pair('mkdir -p /o && head -c 300000 /dev/zero > /o/big.bin && echo x > /o/hello.txt && tar -C /o -cf - .\n', {
      runtime: 'FROM scratch\nCOPY . /\nENTRYPOINT ["/missing"]\n',
    });
    assert.equal((await build(dir, '--tag', 'dc-pm-inspect')).code, 0);
    const result = await runCli(['inspect', dir, '--tag', 'dc-pm-inspect', '--host', podman.url, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const inspected = jsonOf(result);
    assert.equal(inspected.runtime.largestFiles[0].path, '/big.bin');
    assert.deepEqual(
      inspected.doctor.map((f: { code: string }) => f.code),
      ['MISSING_ENTRYPOINT'],
    );
    assert.deepEqual(containers(), [], 'the export container is removed');
  });

  it('refuses a hostile tar and a failing builder, tagging nothing and leaving no container', async () => {
    const evil = pair('', {
      builder: `FROM ${BUSYBOX}\nCOPY payload /payload\nCMD ["cat", "/payload/evil.tar"]\n`,
      payload: { 'evil.tar': await makeTar([{ name: '../escape.txt', content: 'x' }]) },
    });
    const unsafe = await build(evil, '--tag', 'dc-pm-evil');
    assert.equal(unsafe.code, 1);
    assert.equal(jsonOf(unsafe).error.code, 'UNSAFE_PATH');
    const failing = await build(pair('echo broken >&2; exit 3\n'), '--tag', 'dc-pm-exit');
    assert.equal(jsonOf(failing).error.code, 'BUILDER_EXIT');
    assert.match(jsonOf(failing).error.message, /broken/);
    assert.deepEqual([tagged('dc-pm-evil'), tagged('dc-pm-exit')], [false, false]);
    assert.deepEqual(containers(), []);
  });

  it('cancels on SIGINT during the builder run: exit 130, nothing tagged, no container', async () => {
    const dir = pair('echo started >&2; sleep 30; tar -cf - /etc/hostname\n');
    const result = await runCli(['build', dir, '--host', podman.url, '--tag', 'dc-pm-cancel'], {
      onStderr: (text, child) => {
        if (text.includes('started') && !child.killed) child.kill('SIGINT');
      },
    });
    assert.equal(result.code, 130, result.stderr);
    assert.equal(tagged('dc-pm-cancel'), false);
    assert.deepEqual(containers(), []);
  });
});
