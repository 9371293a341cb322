import * as assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mustRun, freePort } from '../support/endpoints/process';
import { PrivateRegistry } from '../support/endpoints/registry';
import { BUSYBOX, imageExists, makeBuilderPair, removeDir, removeImages, runCli } from '../unit/helpers';
import { cleanEnv, removeTempDirs, tempDir } from './env';

describe('a builder FROM a private registry, with the credentials the docker CLI would send', () => {
  let registry: PrivateRegistry;
  let image: string;
  let pair: string;
  const tags: string[] = [];

  before(async () => {
    registry = new PrivateRegistry(await freePort());
    await registry.start();
    image = registry.push(BUSYBOX, 'dc-private/busybox:1.36');
    pair = makeBuilderPair('mkdir -p /o && echo hello > /o/hello.txt && tar -C /o -cf - .\n', {
      builder: `FROM ${image}\nCOPY payload /payload\nCMD ["sh", "/payload/run.sh"]\n`,
    });
  });
  after(async () => {
    await removeImages(...tags, image);
    await registry?.remove();
    removeDir(path.dirname(pair));
    removeTempDirs();
  });

  const build = async (env: NodeJS.ProcessEnv, builder: string) => {
    const tag = `dc-e-registry-${builder}`;
    tags.push(tag, `${tag}-builder`);
    // The base must come from the registry each time, not from the engine's images.
    await removeImages(image);
    return { tag, result: await runCli(['build', pair, '--tag', tag, '--builder', builder, '--no-cache'], { env }) };
  };

  // The wrong password first: the engine's BuildKit keeps a registry login it made for a while.
  for (const builder of ['buildkit', 'legacy'] as const) {
    it(`a wrong password fails the builder build and says to log in again (${builder})`, async () => {
      const { tag, result } = await build(cleanEnv({ DOCKER_CONFIG: registry.login('wrong-password') }), builder);
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /BUILDER_BUILD_FAILED/);
      const host = registry.host.replace(/\./g, '\\.');
      assert.match(
        result.stderr,
        new RegExp(`The registry ${host} refused the credentials for it in .*config\\.json: log in again with 'docker login ${host}'`),
      );
      assert.equal(await imageExists(tag), false);
    });

    it(`pulls with config.json's auths from 'docker login' (${builder})`, async () => {
      const pulls = registry.authenticatedPulls();
      const { tag, result } = await build(cleanEnv({ DOCKER_CONFIG: registry.login() }), builder);
      assert.equal(result.code, 0, result.stderr);
      assert.ok(await imageExists(tag));
      assert.ok(registry.authenticatedPulls() > pulls, 'the registry served the manifest to the logged-in user');
    });
  }

  it('no credentials at all: says which file has none and what to run', async () => {
    const { result } = await build(cleanEnv(), 'legacy');
    assert.equal(result.code, 1);
    assert.match(result.stderr, /config\.json has no credentials for that registry: run 'docker login <registry>'/);
  });

  it("uses a credential helper named by config.json's credsStore", async () => {
    const config = tempDir('dc-docker-config-');
    const bin = tempDir('dc-helper-');
    // A real helper program speaking the docker-credential protocol (get/list on stdin/stdout).
    writeFileSync(
      path.join(bin, 'docker-credential-dc-test'),
      `#!/bin/sh\ncase "$1" in\n  list) echo '{"${registry.host}":"${registry.user}"}' ;;\n` +
        `  get) read server; [ "$server" = "${registry.host}" ] && echo '{"ServerURL":"${registry.host}","Username":"${registry.user}","Secret":"${registry.password}"}' || { echo "credentials not found in native keychain"; exit 1; } ;;\n  *) exit 1 ;;\nesac\n`,
      { mode: 0o755 },
    );
    writeFileSync(path.join(config, 'config.json'), JSON.stringify({ credsStore: 'dc-test' }));
    const env = cleanEnv({ DOCKER_CONFIG: config, PATH: `${bin}:${process.env.PATH}` });
    assert.match(mustRun('docker', ['pull', image], { env }), /Downloaded|up to date|Pull complete/i, 'the docker CLI pulls with the helper too');
    const pulls = registry.authenticatedPulls();
    const { tag, result } = await build(env, 'legacy');
    assert.equal(result.code, 0, result.stderr);
    assert.ok(await imageExists(tag));
    assert.ok(registry.authenticatedPulls() > pulls);
  });
});
