// `build --all --engines CONTEXT,CONTEXT --push` on two real engines (the machine's, as the docker context
// 'default', and a dockerd of the test's own, as a context made with the docker CLI) pushing to one
// Debian docker-registry: each pair is built on the engine the summary names (its image is there and not on
// the other), a pair that uses another's image is built beside it, and every digest is what the registry
// itself answers (curl).
import * as assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PrivateEngine } from '../support/endpoints/dockerd';
import { freePort, mustRun, run } from '../support/endpoints/process';
import { PrivateRegistry, registryDigest } from '../support/registry';
import { BUSYBOX, jsonOf, removeImages, runCli } from '../unit/helpers';
import { cleanEnv, removeTempDirs, tempDir } from './env';

const P = `dc-bae${Math.random().toString(36).slice(2, 6)}`;

function writePair(root: string, name: string, runtime = 'FROM scratch\nCOPY hello.txt /\n'): void {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${BUSYBOX}\nCMD ["sh", "-c", "mkdir /o && echo ${name} > /o/hello.txt && tar -cf - -C /o ."]\n`);
  writeFileSync(path.join(dir, 'Dockerfile.run'), runtime);
}

describe('Build All over two engines, pushing to one registry', { timeout: 10 * 60_000 }, () => {
  let registry: PrivateRegistry;
  let second: PrivateEngine;
  let env: NodeJS.ProcessEnv;
  let root: string;
  const names = [`${P}-base`, `${P}-app`, `${P}-one`, `${P}-two`];

  before(async () => {
    registry = new PrivateRegistry(await freePort(), 'unused', 'unused', { auth: false });
    second = new PrivateEngine('second');
    await Promise.all([registry.start(), second.start()]);
    second.loadFrom([BUSYBOX]);
    env = cleanEnv({ DOCKERCEPTION_STATE_DIR: tempDir('dc-bae-state-') });
    // The context as a user makes it, with the docker CLI, in the test's own docker config folder.
    mustRun('docker', ['context', 'create', 'second', '--docker', `host=${second.url}`], { env });
    root = tempDir('dc-bae-ws-');
    writePair(root, names[0]);
    writePair(root, names[1], `FROM ${names[0]}\nCOPY hello.txt /app.txt\n`);
    writePair(root, names[2]);
    writePair(root, names[3]);
  });

  after(async () => {
    await removeImages(...names.flatMap((n) => [n, `${n}-builder`, `${registry?.host}/${n}:t`]));
    await second?.remove();
    await registry?.remove();
    removeTempDirs();
  });

  it('builds each pair on the engine it names, a dependant beside what it needs, and pushes each', async () => {
    const result = await runCli(['build', '--all', root, '--engines', 'default,second', '--push', '--tag', `${registry.host}/\${name}:t`, '--json'], { env });
    assert.equal(result.code, 0, result.stderr);
    const out = jsonOf(result) as Array<{ pair: string; result: string; engine: string; digest: string; runtime: { id: string } }>;
    const by = Object.fromEntries(out.map((o) => [o.pair, o]));
    assert.deepEqual(Object.keys(by).sort(), [...names].sort());
    assert.equal(by[names[1]].engine, by[names[0]].engine, 'app is built where base is');
    assert.deepEqual(new Set(out.map((o) => o.engine)), new Set(['default', 'second']), 'both engines built something');
    assert.match(result.stderr, /on 2 engines \(default, second\)/);
    for (const o of out) {
      assert.equal(o.result, 'built');
      // Its image is on the engine that says it built it, and not on the other.
      const here = o.engine === 'default' ? [] : ['-H', second.url];
      const there = o.engine === 'default' ? ['-H', second.url] : [];
      assert.equal(run('docker', [...here, 'image', 'inspect', '--format', '{{.Id}}', o.pair]).stdout.trim(), o.runtime.id, `${o.pair} on ${o.engine}`);
      assert.notEqual(run('docker', [...there, 'image', 'inspect', o.pair]).status, 0, `${o.pair} is not on the other engine`);
      // The digest is the registry's own.
      assert.equal(o.digest, registryDigest(registry, o.pair, 't', undefined, false));
    }
    // The table (without --json) has the engine column; nothing runs on the second engine afterwards.
    assert.equal(second.docker('ps', '-aq').stdout.trim(), '');
  });

  it('refuses an engine it cannot reach before anything builds, naming it', async () => {
    const result = await runCli(['build', '--all', root, '--engines', 'second,nowhere'], { env });
    assert.equal(result.code, 3, 'the exit code of an engine that cannot be reached');
    assert.match(result.stderr, /--engines: 1 of 2 engine\(s\) cannot be reached[\s\S]*nowhere: The docker context 'nowhere' cannot be read/);
    assert.doesNotMatch(result.stderr, /Building \d+ pair/);
  });
});
