import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeEngine, connectEngine } from '../../src/core/engine';
import { pairFor } from '../../src/core/pairs';
import { buildPair } from '../../src/core/pipeline';
import { registriesToAskFor, registryCredentials } from '../../src/core/registry-auth';
import { PrivateEngine } from '../support/endpoints/dockerd';
import { mustRun, freePort } from '../support/endpoints/process';
import { PrivateRegistry } from '../support/endpoints/registry';
import { BUSYBOX, imageExists, jsonOf, makeBuilderPair, removeDir, removeImages, runCli } from '../unit/helpers';
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

/**
 * A credential helper of the tests' own speaking the docker-credential protocol, writing each call
 * ("get SERVER" / "list") to a log: what was asked, and when. `answer` is the shell that answers a get.
 */
function helper(bin: string, name: string, log: string, answer: string, list = "echo '{}'"): void {
  writeFileSync(
    path.join(bin, `docker-credential-${name}`),
    `#!/bin/sh\ncase "$1" in\n  list) echo list >> '${log}'; ${list} ;;\n  get) read server; echo "get $server" >> '${log}'; ${answer} ;;\n  *) exit 1 ;;\nesac\n`,
    { mode: 0o755 },
  );
}

const calls = (log: string): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);

describe('credentials asked lazily, only for the registries a build pulls from, and never leaked', () => {
  let registry: PrivateRegistry;
  let image: string;
  let privatePair: string;
  let localPair: string;
  let bin: string;
  const tags: string[] = [];
  const secret = `dcsecret-${Math.random().toString(36).slice(2)}-TOKEN`;

  before(async () => {
    registry = new PrivateRegistry(await freePort());
    await registry.start();
    image = registry.push(BUSYBOX, 'dc-lazy/busybox:1.36');
    const script = 'mkdir -p /o && echo hello > /o/hello.txt && tar -C /o -cf - .\n';
    privatePair = makeBuilderPair(script, { builder: `FROM ${image}\nCOPY payload /payload\nCMD ["sh", "/payload/run.sh"]\n` });
    localPair = makeBuilderPair(script);
    bin = tempDir('dc-helpers-');
  });
  after(async () => {
    await removeImages(...tags, image);
    await registry?.remove();
    removeDir(path.dirname(privatePair));
    removeDir(path.dirname(localPair));
    removeTempDirs();
  });

  /** A config whose credsStore answers for the private registry and whose credHelpers name two others. */
  function config(log: string): NodeJS.ProcessEnv {
    const dir = tempDir('dc-docker-config-');
    helper(
      bin,
      'dc-store',
      log,
      `[ "$server" = "${registry.host}" ] && echo '{"ServerURL":"${registry.host}","Username":"${registry.user}","Secret":"${registry.password}"}' || { echo "credentials not found in native keychain"; exit 1; }`,
    );
    helper(bin, 'dc-other', log, `echo '{"Username":"x","Secret":"y"}'`);
    writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        credsStore: 'dc-store',
        credHelpers: { 'other.example:5000': 'dc-other', 'ghcr.io': 'dc-other' },
        // With credsStore set, the docker CLI does not use these: a wrong password here must not be sent.
        auths: { [registry.host]: { auth: Buffer.from(`${registry.user}:wrong-password`).toString('base64') } },
      }),
    );
    return cleanEnv({ DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` });
  }

  let buildLines: string[] = [];

  /** What the pipeline does per build: read config.json, narrowed to the registries the pair's Dockerfiles need. */
  async function buildWith(
    env: NodeJS.ProcessEnv,
    pair: string,
    tag: string,
    builder: 'legacy' | 'buildkit',
    extra: { force?: boolean; recordsDir?: string } = {},
  ) {
    tags.push(tag, `${tag}-builder`);
    const engine = await connectEngine({ env });
    try {
      const p = pairFor(pair);
      const credentials = (await registryCredentials(env)).only(await registriesToAskFor(engine.docker, [p.builderDockerfile, p.runtimeDockerfile]));
      const lines: string[] = (buildLines = []);
      const result = await buildPair(engine, p, {
        tag,
        builder,
        credentials,
        recordsDir: tempDir('dc-records-'),
        onEvent: (event) => {
          if (event.type === 'log') lines.push(event.line);
        },
        ...extra,
      });
      return { result, credentials, lines };
    } finally {
      closeEngine(engine);
    }
  }

  it('asks no helper for a build whose images the engine has, nor for the up-to-date build after it', async () => {
    const log = path.join(tempDir('dc-log-'), 'calls');
    const env = config(log);
    const recordsDir = tempDir('dc-records-');
    const first = await buildWith(env, localPair, 'dc-e-lazy-local', 'legacy', { recordsDir });
    assert.equal(first.result.ok, true);
    const second = await buildWith(env, localPair, 'dc-e-lazy-local', 'legacy', { recordsDir });
    assert.equal(second.result.upToDate, true);
    assert.deepEqual(calls(log), [], 'no credential helper ran');
    assert.deepEqual([first.credentials.asked, second.credentials.asked], [[], []]);
  });

  for (const builder of ['legacy', 'buildkit'] as const) {
    it(`asks only the registry the Dockerfile pulls from, once, with credsStore's rules (${builder})`, async () => {
      const log = path.join(tempDir('dc-log-'), 'calls');
      await removeImages(image);
      const pulls = registry.authenticatedPulls();
      const { result, credentials } = await buildWith(config(log), privatePair, `dc-e-lazy-${builder}`, builder, { force: true });
      assert.equal(result.ok, true);
      assert.ok(registry.authenticatedPulls() > pulls, 'pulled with the helper’s credentials, not the file’s wrong ones');
      assert.deepEqual(calls(log), [`get ${registry.host}`], 'one get, for that registry only; no list, no other helper');
      assert.deepEqual(credentials.asked, [registry.host]);
    });
  }

  for (const [kind, answer] of [
    ['prints a token as garbage (not JSON)', `echo "garbage ${secret} garbage"`],
    ['fails, printing a token on both streams', `echo "${secret}"; echo "error: ${secret}" >&2; exit 1`],
  ] as const) {
    it(`a helper that ${kind}: its output appears nowhere, and the message says what to do`, async () => {
      const dir = tempDir('dc-docker-config-');
      const log = path.join(tempDir('dc-log-'), 'calls');
      helper(bin, 'dc-leaky', log, answer, answer);
      writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ credsStore: 'dc-leaky' }));
      await removeImages(image);
      const tag = 'dc-e-leak';
      tags.push(tag, `${tag}-builder`);
      const env = cleanEnv({ DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH}` });
      const saysWhy =
        /docker-credential-dc-leaky (answered for .* with something that is not JSON|failed for .*exit status 1|failed to list its registries).*not shown, as it may hold a secret/;

      // Through the CLI, as a user runs it: everything it printed, and its JSON.
      const result = await runCli(['build', privatePair, '--tag', tag, '--builder', 'legacy', '--json'], { env });
      assert.ok(calls(log).length > 0, 'the helper was asked');
      assert.equal(result.code, 1, result.stderr);
      const printed = `${result.stdout}\n${result.stderr}\n${JSON.stringify(jsonOf(result))}`;
      assert.equal(printed.includes(secret), false, `the helper's token was printed:\n${printed}`);
      assert.match(printed, saysWhy);

      // Through the API with the build's registries (the helper's `get`): the error, every log line, the events.
      for (const builder of ['legacy', 'buildkit'] as const) {
        await removeImages(image);
        const failure = await buildWith(env, privatePair, tag, builder, { force: true }).then(
          (outcome) => assert.fail(`the build should fail without credentials: ${JSON.stringify(outcome.result)}`),
          (error: Error) => error,
        );
        assert.ok(
          calls(log).some((call) => call.startsWith('get ')),
          'the helper was asked for the registry',
        );
        const everything = `${failure.message}\n${JSON.stringify(failure)}\n${buildLines.join('\n')}`;
        assert.equal(everything.includes(secret), false, `the helper's token was printed (${builder}):\n${everything}`);
        if (builder === 'legacy') assert.match(everything, saysWhy);
      }
    });
  }

  it('sends no credentials to a plain tcp:// engine, and says why and what to do', async () => {
    const plain = new PrivateEngine('plain-registry', { port: await freePort() });
    await plain.start();
    try {
      const pulls = registry.authenticatedPulls();
      const env = cleanEnv({ DOCKER_CONFIG: registry.login(), DOCKER_HOST: plain.tcpUrl });
      const result = await runCli(['build', privatePair, '--tag', 'dc-e-plain', '--builder', 'legacy'], { env });
      assert.equal(result.code, 1, result.stderr);
      assert.equal(registry.authenticatedPulls(), pulls, 'the registry saw no login');
      assert.match(
        result.stderr + result.stdout,
        /Registry credentials.* were not sent: the engine at tcp:\/\/127\.0\.0\.1:\d+ is reached over plain HTTP, without TLS/,
      );
      assert.match(result.stderr + result.stdout, /Use TLS \(DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH/);
    } finally {
      await plain.remove();
    }
  });
});
