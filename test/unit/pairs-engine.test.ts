// Pair discovery on real folders, and how the engine address is chosen (docker CLI order).
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { DockerceptionError, closeEngine, connectEngine, findPairs, imageNameFor, isPodmanByPing, pairAt, versionFromPing } from '../../src/core';
import { makeDir, removeDir } from './helpers';

describe('pairs', () => {
  const root = makeDir({
    'App One/Dockerfile': 'FROM x',
    'App One/Dockerfile.run': 'FROM y',
    'nested/deep/svc/Dockerfile': 'FROM x',
    'nested/deep/svc/Dockerfile.run': 'FROM y',
    'only-builder/Dockerfile': 'FROM x',
    'only-runtime/Dockerfile.run': 'FROM y',
    'node_modules/pkg/Dockerfile': 'FROM x',
    'node_modules/pkg/Dockerfile.run': 'FROM y',
    '.git/x/Dockerfile': 'FROM x',
    '.git/x/Dockerfile.run': 'FROM y',
  });
  after(() => removeDir(root));

  it('finds every folder with both files, skipping vendored folders', async () => {
    const pairs = await findPairs(root);
    assert.deepEqual(
      pairs.map((p) => path.relative(root, p.dir)),
      ['App One', 'nested/deep/svc'],
    );
    assert.deepEqual(pairs[0], {
      name: 'app-one',
      dir: path.join(root, 'App One'),
      builderDockerfile: path.join(root, 'App One', 'Dockerfile'),
      runtimeDockerfile: path.join(root, 'App One', 'Dockerfile.run'),
    });
  });

  it('says which file is missing when a folder is not a pair', async () => {
    await assert.rejects(pairAt(path.join(root, 'only-builder')), (error: DockerceptionError) => {
      assert.equal(error.code, 'NO_PAIR');
      assert.match(error.message, /Dockerfile\.run is missing/);
      return true;
    });
  });

  it('makes folder names into valid image names', () => {
    assert.equal(imageNameFor('Hello_World'), 'hello_world');
    assert.equal(imageNameFor('My App (v2)!'), 'my-app-v2');
    assert.equal(imageNameFor('--x--'), 'x');
    assert.equal(imageNameFor('___'), 'app');
  });
});

describe('engine address', () => {
  it('names the address tried and how to fix it when nothing answers', async () => {
    await assert.rejects(connectEngine({ host: 'unix:///nonexistent/docker.sock' }), (error: DockerceptionError) => {
      assert.equal(error.code, 'ENGINE_UNREACHABLE');
      assert.match(error.message, /unix:\/\/\/nonexistent\/docker\.sock/);
      assert.match(error.message, /start Docker/);
      assert.match(error.message, /It comes from --host; pass another address/);
      return true;
    });
    // In VS Code the same failure names the setting, never a CLI flag.
    await assert.rejects(connectEngine({ host: 'unix:///nonexistent/docker.sock', hostSource: 'setting', surface: 'vscode' }), (error: DockerceptionError) => {
      assert.match(error.message, /It comes from the dockerception\.host setting; change it, or clear it/);
      assert.doesNotMatch(error.message, /--host|npm run/);
      return true;
    });
    await assert.rejects(connectEngine({ env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' }, surface: 'vscode' }), (error: DockerceptionError) => {
      assert.match(error.message, /It comes from DOCKER_HOST; change or unset it, or set the dockerception\.host setting\./);
      return true;
    });
  });

  it('connects to the real engine on this machine, with the version its /version gives (read from /_ping)', async () => {
    const engine = await connectEngine();
    assert.match(engine.version.api, /^1\.\d+$/);
    // connectEngine reads the engine's version and API version from the ping's Server and Api-Version
    // headers: they must be what the engine's own GET /version says.
    const version = await engine.docker.version();
    assert.deepEqual(engine.version, { engine: version.Version, api: version.ApiVersion });
    // Podman or not, from the ping (the engine's id depends on it): dockerd's /version lists no Podman.
    assert.equal(isPodmanByPing(engine.docker), Boolean(version.Components?.some((c) => /podman/i.test(c.Name))));
    assert.equal(isPodmanByPing(engine.docker), false);
    closeEngine(engine);
  });

  it('takes the version from /_ping headers, and asks /version when one is missing', () => {
    assert.deepEqual(versionFromPing({ 'api-version': '1.41', server: 'Docker/20.10.24+dfsg1 (linux)' }), { engine: '20.10.24+dfsg1', api: '1.41' });
    assert.deepEqual(versionFromPing({ 'api-version': '1.41', server: 'Libpod/4.3.1 (linux)' }), { engine: '4.3.1', api: '1.41' });
    assert.equal(versionFromPing({ 'api-version': '1.41' }), undefined, 'no Server header (a proxy may drop it)');
    assert.equal(versionFromPing({ server: 'Docker/24.0.7 (linux)' }), undefined, 'no Api-Version');
    assert.equal(versionFromPing({ 'api-version': '1.41', server: 'nginx' }), undefined, 'a Server without a version');
  });
});

describe('sizes', () => {
  it('formats bytes like the docker CLI, and compares sizes in words that keep their meaning at the extremes', async () => {
    const { formatBytes, sizeChange, sizeSummary, parseSize } = await import('../../src/core');
    assert.equal(formatBytes(846_000_000), '846 MB');
    assert.equal(formatBytes(4_464_640), '4.46 MB');
    assert.equal(formatBytes(682_696), '683 kB');
    assert.equal(formatBytes(6), '6 B');
    assert.equal(sizeSummary(846_000_000, 4_464_640), 'builder 846 MB → runtime 4.46 MB (189× smaller)');
    assert.equal(sizeChange(786_000_000, 683_000), '1151× smaller');
    assert.equal(sizeChange(100, 62.5), '37.5% smaller');
    assert.equal(sizeChange(1000, 999), '0.1% smaller');
    assert.equal(sizeChange(1000, 91), '11× smaller');
    assert.equal(sizeChange(100, 104), '4% larger');
    assert.equal(sizeChange(1_000_000, 16_000_000), '16× larger');
    assert.equal(sizeChange(5, 5), 'the same size');
    assert.equal(parseSize('10MB'), 10_000_000);
    assert.equal(parseSize('512 KiB'), 524_288);
    assert.equal(parseSize('ten'), undefined);
  });
});
