import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { closeEngine, connectEngine, type Engine } from '../../src/core/engine';
import { registryCredentials } from '../../src/core/registry-auth';
import {
  estimatePullSize,
  expandTags,
  isShipError,
  pushImage,
  pushedManifest,
  registryHasTag,
  tagImage,
  tagVariables,
  type PushEvent,
  type ShipError,
} from '../../src/core/ship';
import { makeRegistryCerts } from '../support/endpoints/certs';
import { freePort, mustRun, run } from '../support/endpoints/process';
import { PrivateRegistry } from '../support/endpoints/registry';
import { blobSize, importImage, outsideAddress, registryDigest } from '../support/registry';
import { removeImages, runCli } from '../unit/helpers';
import { cleanEnv, removeTempDirs, tempDir } from './env';

const ROOT = path.resolve(__dirname, '../../..');
const EXAMPLES = ['hello-c', 'hello-cache', 'hello-doctor', 'hello-go'];

const expectShipError = async (promise: Promise<unknown>, code: string, pattern: RegExp): Promise<ShipError> => {
  try {
    await promise;
  } catch (error) {
    assert.ok(isShipError(error), String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, pattern);
    return error;
  }
  assert.fail(`expected ${code}`);
};

describe('ship: push, digest, pull size and estimate against Debian docker-registry', () => {
  let engine: Engine;
  let certs: ReturnType<typeof makeRegistryCerts>;
  let secure: PrivateRegistry; // TLS (own CA) + htpasswd, on 127.0.0.1
  let open: PrivateRegistry; // no auth, plain HTTP, on 127.0.0.1
  const images: string[] = [];
  const small = 'dc-ship-small:1';
  const big = 'dc-ship-big:1';

  before(async () => {
    engine = await connectEngine();
    const ip = outsideAddress();
    certs = makeRegistryCerts(tempDir('dc-ship-certs-'), ['127.0.0.1', ...(ip ? [ip] : [])]);
    secure = new PrivateRegistry(await freePort(), 'dc-shipper', 'right-password', { tls: certs });
    open = new PrivateRegistry(await freePort(), 'unused', 'unused', { auth: false });
    await Promise.all([secure.start(), open.start()]);
    importImage(small, { x: Buffer.from('hello from dc-ship\n'.repeat(1000)) });
    // Incompressible, so the push takes long enough to cancel in the middle.
    importImage(big, { x: randomBytes(96 << 20) });
    images.push(small, big);
  });
  after(async () => {
    await removeImages(...images);
    await secure?.remove();
    await open?.remove();
    if (engine) closeEngine(engine);
    removeTempDirs();
  });

  const ca = () => readFileSync(certs.ca);

  it("the engine pushes to a loopback TLS registry whose CA it does not know (127.0.0.0/8 is insecure-allowed), with docker login credentials; layers are reported per layer; the digest is the registry's", async () => {
    const ref = `${secure.host}/team/small:1`;
    await tagImage(engine, small, [ref]);
    images.push(ref);
    const credentials = await registryCredentials(cleanEnv({ DOCKER_CONFIG: secure.login() }));
    const events: PushEvent[] = [];
    const result = await pushImage(engine, ref, { credentials, onEvent: (e) => events.push(e) });
    assert.match(result.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(result.canonical, `${secure.host}/team/small@${result.digest}`);
    assert.ok(
      events.some((e) => e.kind === 'pushed'),
      events.map((e) => e.message).join('\n'),
    );
    assert.ok(events.some((e) => e.kind === 'start' && /as dc-shipper/.test(e.message)));
    // The registry's own answer (curl, its Docker-Content-Digest) and our API client's sha256 of the bytes.
    assert.equal(registryDigest(secure, 'team/small', '1', certs.ca), result.digest);
    const manifest = await pushedManifest(ref, { credentials: await credentials.get(secure.host), ca: ca() });
    assert.equal(manifest.digest, result.digest);
    // The pull size: every layer's size in the manifest is the blob's size the registry serves.
    for (const layer of manifest.layers) assert.equal(blobSize(secure, 'team/small', layer.digest, certs.ca), layer.size);
    assert.equal(blobSize(secure, 'team/small', manifest.config.digest, certs.ca), manifest.config.size);
    assert.equal(manifest.pullSize, manifest.layers.reduce((s, l) => s + l.size, 0) + manifest.config.size);
  });

  it('a layer the registry already has is said as such and not sent', async () => {
    const ref = `${secure.host}/team/small:again`;
    await tagImage(engine, small, [ref]);
    images.push(ref);
    const credentials = await registryCredentials(cleanEnv({ DOCKER_CONFIG: secure.login() }));
    const events: PushEvent[] = [];
    const result = await pushImage(engine, ref, { credentials, onEvent: (e) => events.push(e) });
    const exists = events.filter((e) => e.kind === 'exists');
    assert.equal(exists.length, 1, events.map((e) => e.message).join('\n'));
    assert.match(exists[0].message, /layer already exists in the registry, not sent/);
    assert.deepEqual(
      result.layers.map((l) => l.sent),
      [false],
    );
  });

  it('a wrong password: the registry, its answer, and to log in again', async () => {
    const ref = `${secure.host}/team/small:wrong`;
    await tagImage(engine, small, [ref]);
    images.push(ref);
    const credentials = await registryCredentials(cleanEnv({ DOCKER_CONFIG: secure.login('wrong-password') }));
    const host = secure.host.replace(/\./g, '\\.');
    const error = await expectShipError(
      pushImage(engine, ref, { credentials }),
      'PUSH_AUTH',
      new RegExp(
        `^The registry ${host} answered the push of .*: .+\\. It refused the credentials for it in .*config\\.json: log in again with 'docker login ${host}'`,
      ),
    );
    console.log(`# wrong password: ${error.message}`);
    assert.equal(await registryHasTag(ref, { credentials: { serveraddress: secure.host, username: secure.user, password: secure.password }, ca: ca() }), false);
  });

  it('no credentials: says there are none and what to run', async () => {
    const ref = `${secure.host}/team/small:nocreds`;
    await tagImage(engine, small, [ref]);
    images.push(ref);
    const credentials = await registryCredentials(cleanEnv());
    await expectShipError(
      pushImage(engine, ref, { credentials }),
      'PUSH_AUTH',
      /There are no credentials for it in .*config\.json: run 'docker login 127\.0\.0\.1:\d+'/,
    );
  });

  it("a registry without auth takes a push without credentials; the digest is the registry's", async () => {
    const ref = `${open.host}/small:1`;
    await tagImage(engine, small, [ref]);
    images.push(ref);
    const result = await pushImage(engine, ref, { credentials: await registryCredentials(cleanEnv()) });
    assert.equal(registryDigest(open, 'small', '1', undefined, false), result.digest);
    assert.equal((await pushedManifest(result.canonical)).digest, result.digest);
  });

  it('a registry nobody listens on: unreachable, what to check', async () => {
    const ref = `127.0.0.1:${await freePort()}/small:1`;
    await tagImage(engine, small, [ref]);
    images.push(ref);
    await expectShipError(pushImage(engine, ref), 'REGISTRY_UNREACHABLE', /could not reach the registry 127\.0\.0\.1:\d+ .*Check the host and port/);
  });

  it('an image the engine does not have: says to build it', async () => {
    await expectShipError(pushImage(engine, `${open.host}/dc-ship-none:1`), 'NO_IMAGE', /build it first/);
  });

  it('a cancelled push leaves the registry without the tag', async () => {
    const ref = `${open.host}/big:1`;
    await tagImage(engine, big, [ref]);
    images.push(ref);
    const controller = new AbortController();
    const events: PushEvent[] = [];
    const started = Date.now();
    await expectShipError(
      pushImage(engine, ref, {
        signal: controller.signal,
        onEvent: (e) => {
          events.push(e);
          if (e.kind === 'pushing') controller.abort();
        },
      }),
      'CANCELLED',
      /was cancelled\. The registry got no manifest/,
    );
    assert.ok(
      events.some((e) => e.kind === 'pushing'),
      'cancelled while a layer was being sent',
    );
    console.log(`# cancelled after ${Date.now() - started} ms`);
    // The engine stops its upload when the client goes; give it time to have finished if it did not.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    assert.equal(await registryHasTag(ref), false);
  });

  it('a registry on a non-loopback address with its own CA: refused as TLS with what to do; trusted through /etc/docker/certs.d', async (t) => {
    const ip = outsideAddress();
    if (!ip) return t.skip('this machine has no non-loopback IPv4 address');
    const outside = new PrivateRegistry(await freePort(), 'unused', 'unused', { tls: certs, auth: false, ip });
    await outside.start();
    const certsDir = path.join('/etc/docker/certs.d', outside.host);
    try {
      const ref = `${outside.host}/small:1`;
      await tagImage(engine, small, [ref]);
      images.push(ref);
      const error = await expectShipError(pushImage(engine, ref), 'PUSH_TLS', /x509|certificate/);
      assert.match(error.message, new RegExp(`put the CA that signed it in /etc/docker/certs\\.d/${outside.host.replace(/\./g, '\\.')}/ca\\.crt`));
      // Our registry client refuses it as well, naming TLS.
      await expectShipError(pushedManifest(ref, { certsDir: tempDir('dc-ship-nocerts-') }), 'PUSH_TLS', /TLS with the registry .* failed/);
      // Docker's documented remedy, applied: the engine reads certs.d on every connection.
      mkdirSync(certsDir, { recursive: true });
      writeFileSync(path.join(certsDir, 'ca.crt'), ca());
      const result = await pushImage(engine, ref);
      assert.equal((await pushedManifest(ref)).digest, result.digest, 'our client reads the same certs.d');
    } finally {
      rmSync(certsDir, { recursive: true, force: true });
      await outside.remove();
    }
  });

  it('tags from git variables: one image under several expanded tags, pushed, the registry has each', async () => {
    const repo = tempDir('dc-ship-git-');
    const git = (...args: string[]) =>
      mustRun('git', args, {
        cwd: repo,
        env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' },
      }).trim();
    git('init', '-q', '-b', 'release/1.x');
    writeFileSync(path.join(repo, 'Dockerfile'), 'FROM scratch\n');
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    const vars = await tagVariables(repo, 'shipped');
    const refs = expandTags([`${open.host}/\${name}:\${gitSha}`, `${open.host}/\${name}:\${gitBranch}`], vars);
    assert.deepEqual(refs, [`${open.host}/shipped:${git('rev-parse', '--short', 'HEAD')}`, `${open.host}/shipped:release-1.x`]);
    await tagImage(engine, small, refs);
    images.push(...refs);
    const digests = [];
    for (const ref of refs) digests.push((await pushImage(engine, ref)).digest);
    assert.equal(digests[0], digests[1]);
    for (const ref of refs) assert.equal((await pushedManifest(ref)).digest, digests[0]);
  });

  it('the estimate before a push is within 2% of the pushed pull size on every example', async () => {
    const rows: string[] = [];
    for (const example of EXAMPLES) {
      const tag = `dc-ship-${example}`;
      images.push(tag, `${tag}-builder`);
      const built = await runCli(['build', path.join(ROOT, 'examples', example), '--tag', tag], { env: { ...process.env } });
      assert.equal(run('docker', ['image', 'inspect', tag]).status, 0, `${example} built: ${built.stderr.slice(-2000)}`);
      const estimate = await estimatePullSize(engine, tag);
      const ref = `${open.host}/${tag}:1`;
      await tagImage(engine, tag, [ref]);
      images.push(ref);
      await pushImage(engine, ref);
      const pushed = await pushedManifest(ref);
      for (const layer of pushed.layers) assert.equal(blobSize(open, tag, layer.digest, undefined, false), layer.size);
      assert.equal(estimate.configSize, pushed.config.size, 'the config is stored as is');
      assert.equal(estimate.layers.length, pushed.layers.length);
      const error = (estimate.pullSize - pushed.pullSize) / pushed.pullSize;
      rows.push(`${example}: estimate ${estimate.pullSize} B in ${estimate.elapsedMs} ms, pushed ${pushed.pullSize} B, error ${(error * 100).toFixed(2)}%`);
      assert.ok(Math.abs(error) <= 0.02, rows[rows.length - 1]);
    }
    console.log(rows.map((row) => `# ${row}`).join('\n'));
  });
});
