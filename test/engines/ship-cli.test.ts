// The CLI's shipping commands against Debian's docker-registry (one without auth, one with htpasswd), on
// the real engine: what `push`, `build --push` and `build --all --push` print is held to what the registry
// itself answers (curl on its API), and tags from git variables to what git itself says.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatBytes } from '../../src/core/sizes';
import { freePort, mustRun } from '../support/endpoints/process';
import { PrivateRegistry, importImage, registryDigest, registryManifest } from '../support/registry';
import { jsonOf, removeImages, runCli } from '../unit/helpers';
import { cleanEnv, removeTempDirs, tempDir } from './env';

const PREFIX = `dc-shipcli${Math.random().toString(36).slice(2, 6)}`;

/** A busybox pair whose runtime image is one small layer on scratch (cheap to build and push). */
function writePair(dir: string, text: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'Dockerfile'), `FROM busybox:1.36\nCMD ["sh", "-c", "mkdir /o && echo ${text} > /o/hello.txt && tar -cf - -C /o ."]\n`);
  writeFileSync(path.join(dir, 'Dockerfile.run'), 'FROM scratch\nCOPY hello.txt /\n');
}

describe('ship CLI: push, build --push, build --all --push against docker-registry', { timeout: 10 * 60_000 }, () => {
  let open: PrivateRegistry; // no auth
  let secure: PrivateRegistry; // htpasswd
  let env: NodeJS.ProcessEnv;
  const images: string[] = [];

  before(async () => {
    open = new PrivateRegistry(await freePort(), 'unused', 'unused', { auth: false });
    secure = new PrivateRegistry(await freePort(), 'dc-shipper', 'right-password');
    await Promise.all([open.start(), secure.start()]);
    // The records of this suite's builds and pushes stay in a folder of its own.
    env = cleanEnv({ DOCKERCEPTION_STATE_DIR: tempDir('dc-shipcli-state-') });
  });
  after(async () => {
    await removeImages(...images);
    await open?.remove();
    await secure?.remove();
    removeTempDirs();
  });

  it("build --push then push: NAME@digest is the registry's, the pull size its manifest's; recorded with the build; --json", async () => {
    const dir = path.join(tempDir('dc-shipcli-one-'), `${PREFIX}-one`);
    writePair(dir, 'one');
    const ref = `${open.host}/team/${PREFIX}-one:1`;
    images.push(ref, `${open.host}/team/${PREFIX}-one-builder:1`, `${open.host}/team/${PREFIX}-one:also`);
    const built = await runCli(['build', dir, '--tag', ref, '--push'], { env });
    assert.equal(built.code, 0, built.stderr);
    const manifest = registryManifest(open, `team/${PREFIX}-one`, '1', undefined, false);
    const digest = registryDigest(open, `team/${PREFIX}-one`, '1', undefined, false);
    assert.ok(digest);
    const canonical = `${open.host}/team/${PREFIX}-one@${digest}`;
    assert.match(built.stderr, new RegExp(`==> Pushing ${ref.replace(/\./g, '\\.')} to ${open.host.replace(/\./g, '\\.')} without credentials`));
    assert.match(built.stderr, /[0-9a-f]{12}: pushed/);
    // The person sees the digest and what a pull downloads (the registry's manifest, in the sizes' format).
    assert.ok(built.stdout.includes(`${canonical}  ${formatBytes(manifest.pullSize)} to pull (as :1)`), built.stdout);
    console.log(`# build --push: ${canonical}, pull size ${manifest.pullSize} B (registry manifest)`);

    // push again, under a second name: the layer is there already; --json carries digest and pullSize.
    const pushed = await runCli(['push', dir, '--tag', ref, '--tag', `${open.host}/team/${PREFIX}-one:also`, '--json'], { env });
    assert.equal(pushed.code, 0, pushed.stderr);
    assert.match(pushed.stderr, /layer already exists in the registry, not sent/);
    const json = jsonOf(pushed);
    assert.equal(json.digest, digest);
    assert.equal(json.canonical, canonical);
    assert.equal(json.pullSize, manifest.pullSize);
    assert.deepEqual(
      json.pushed.map((p: { ref: string; digest: string }) => [p.ref, p.digest]),
      [
        [ref, digest],
        [`${open.host}/team/${PREFIX}-one:also`, digest],
      ],
    );
    assert.equal(registryDigest(open, `team/${PREFIX}-one`, 'also', undefined, false), digest);
    // A tag that names no registry is Docker Hub's library/, where nobody can push: given on the engine, not pushed,
    // and said; alone, the push is refused before anything is sent, saying what tag to give.
    const plain = `${PREFIX}-one:plain`;
    images.push(plain);
    const withPlain = await runCli(['push', dir, '--tag', ref, '--tag', plain], { env });
    assert.equal(withPlain.code, 0, withPlain.stderr);
    assert.ok(withPlain.stdout.includes(`not pushed: ${plain} (no registry in the name: it stays on the engine)`), withPlain.stdout);
    assert.ok(!/docker\.io|library\//.test(withPlain.stderr), withPlain.stderr);
    assert.equal(
      mustRun('docker', ['image', 'inspect', '--format', '{{.Id}}', plain]).trim(),
      mustRun('docker', ['image', 'inspect', '--format', '{{.Id}}', ref]).trim(),
    );
    const onlyPlain = await runCli(['push', dir, '--tag', plain, '--json'], { env });
    assert.equal(onlyPlain.code, 1, onlyPlain.stderr);
    const refused = jsonOf(onlyPlain);
    assert.equal(refused.error.code, 'NO_REGISTRY');
    assert.match(refused.error.message, /names no registry, so there is nowhere to push it .*--tag registry\.example:5000\/team\/\$\{name\}:1/);
    // The builder stays home unless asked.
    assert.equal(mustRun('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `${open.url}/v2/team/${PREFIX}-one-builder/tags/list`]), '404');

    // Recorded with the build: inspect --pull-size gives the pushed figure beside its estimate.
    const inspected = await runCli(['inspect', dir, '--pull-size', '--tag', ref, '--json'], { env });
    assert.equal(inspected.code, 0, inspected.stderr);
    const info = jsonOf(inspected);
    assert.equal(info.pullSizeSource, 'pushed');
    assert.equal(info.pullSize, manifest.pullSize);
    assert.equal(info.pushed.digest, digest);
    const error = (info.estimate.pullSize - manifest.pullSize) / manifest.pullSize;
    console.log(`# inspect --pull-size: estimate ${info.estimate.pullSize} B, pushed ${manifest.pullSize} B (${(error * 100).toFixed(2)}%)`);
    assert.equal(info.estimate.configSize, manifest.config.size);
    // A tag the engine lacks is said as the inspect finds it, before any export is asked for.
    const missing = await runCli(['inspect', dir, '--pull-size', '--tag', `${PREFIX}-never-built`], { env });
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, new RegExp(`NO_PAIR: The engine has no image tagged ${PREFIX}-never-built: build the pair first`));
  });

  it("build --all --push with --tag ${name}:${gitSha}: each pair pushed under git's short commit; a pull column; JSON digests are the registry's", async () => {
    const repo = tempDir('dc-shipcli-git-');
    const gitEnv = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' };
    const git = (...args: string[]) => mustRun('git', args, { cwd: repo, env: gitEnv }).trim();
    const names = [`${PREFIX}-a`, `${PREFIX}-b`];
    for (const name of names) writePair(path.join(repo, name), name);
    git('init', '-q', '-b', 'main');
    git('add', '.');
    git('commit', '-q', '-m', 'pairs');
    const sha = git('rev-parse', '--short', 'HEAD');
    for (const name of names) images.push(name, `${name}-builder`, `${open.host}/${name}:${sha}`);
    const template = `${open.host}/\${name}:\${gitSha}`;
    const result = await runCli(['build', '--all', repo, '--push', '--tag', template, '--json'], { env });
    assert.equal(result.code, 0, result.stderr);
    const rows = jsonOf(result) as Array<{ pair: string; result: string; digest: string; canonical: string; pullSize: number }>;
    assert.deepEqual(
      rows.map((r) => r.pair),
      names,
    );
    for (const row of rows) {
      assert.equal(row.result, 'built');
      const digest = registryDigest(open, row.pair, sha, undefined, false);
      assert.equal(row.digest, digest, `${row.pair}:${sha} is in the registry under git's short commit`);
      assert.equal(row.canonical, `${open.host}/${row.pair}@${digest}`);
      assert.equal(row.pullSize, registryManifest(open, row.pair, sha, undefined, false).pullSize);
    }
    // Again, for people: up to date, pushed again, the table's pull column.
    const table = await runCli(['build', '--all', repo, '--push', '--tag', template], { env });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^pair\s+result\s+builder\s+runtime\s+pull\s+smaller\s+time$/m);
    for (const name of names) {
      const pull = formatBytes(registryManifest(open, name, sha, undefined, false).pullSize);
      assert.match(table.stdout, new RegExp(`^${name}\\s+up to date\\s+\\S+ \\S+\\s+\\S+ \\S+\\s+${pull.replace('.', '\\.')}\\s`, 'm'));
    }
    console.log(`# build --all --push table:\n${table.stdout.replace(/^/gm, '# ')}`);
  });

  it('a failed push fails that pair and the exit code (build --all --push to a registry nobody listens on)', async () => {
    const root = tempDir('dc-shipcli-fail-');
    const name = `${PREFIX}-c`;
    writePair(path.join(root, name), name);
    const port = await freePort();
    images.push(name, `${name}-builder`, `127.0.0.1:${port}/${name}:1`);
    const result = await runCli(['build', '--all', root, '--push', '--tag', `127.0.0.1:${port}/\${name}:1`, '--json'], { env });
    assert.equal(result.code, 1, result.stderr);
    const [row] = jsonOf(result);
    assert.equal(row.result, 'failed');
    assert.match(row.error.message, /REGISTRY_UNREACHABLE: The engine could not reach the registry 127\.0\.0\.1:\d+ .*Check the host and port/);
  });

  it('Ctrl-C during a push: exit 130, CANCELLED, and the registry has no such tag', async () => {
    const dir = path.join(tempDir('dc-shipcli-cancel-'), `${PREFIX}-cancel`);
    writePair(dir, 'cancel');
    const ref = `${open.host}/${PREFIX}-big:1`;
    images.push(ref);
    // Incompressible, so that the push lasts long enough to be interrupted in the middle.
    importImage(ref, { x: randomBytes(48 << 20) });
    let signalled = false;
    const result = await runCli(['push', dir, '--tag', ref], {
      env,
      onStderr: (text, child) => {
        if (!signalled && /: pushing, /.test(text)) {
          signalled = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.ok(signalled, result.stderr);
    assert.equal(result.code, 130, result.stderr);
    assert.match(result.stderr, /dockerception: CANCELLED: The push of .* was cancelled\. The registry got no manifest/);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal(registryDigest(open, `${PREFIX}-big`, '1', undefined, false), undefined);
  });

  it("a wrong password: the registry, its answer and 'docker login', exit 1; --json has the code", async () => {
    const dir = path.join(tempDir('dc-shipcli-auth-'), `${PREFIX}-auth`);
    writePair(dir, 'auth');
    const ref = `${secure.host}/team/${PREFIX}-auth:1`;
    images.push(ref, `${secure.host}/team/${PREFIX}-auth-builder:1`);
    const wrong = { ...env, DOCKER_CONFIG: secure.login('wrong-password') };
    const built = await runCli(['build', dir, '--tag', ref, '--push'], { env: wrong });
    assert.equal(built.code, 1, built.stderr);
    const host = secure.host.replace(/\./g, '\\.');
    assert.match(
      built.stderr,
      new RegExp(
        `dockerception: PUSH_AUTH: The registry ${host} answered the push of .*: .+\\. It refused the credentials for it in .*config\\.json: log in again with 'docker login ${host}'`,
      ),
    );
    console.log(`# wrong password: ${built.stderr.trim().split('\n').at(-1)}`);
    const json = await runCli(['push', dir, '--tag', ref, '--json'], { env: wrong });
    assert.equal(json.code, 1);
    assert.deepEqual(Object.keys(jsonOf(json).error), ['code', 'message', 'phase']);
    assert.equal(jsonOf(json).error.code, 'PUSH_AUTH');
    // The right password then pushes; --push-builder sends the builder as well, under its own name.
    const right = await runCli(['push', dir, '--tag', ref, '--push-builder'], { env: { ...env, DOCKER_CONFIG: secure.login() } });
    assert.equal(right.code, 0, right.stderr);
    assert.match(right.stdout, /@sha256:[0-9a-f]{64} {2}[\d.]+ k?B to pull \(as :1\)\n/);
    const builderDigest = registryDigest(secure, `team/${PREFIX}-auth-builder`, '1');
    assert.ok(builderDigest);
    assert.ok(right.stdout.includes(`${secure.host}/team/${PREFIX}-auth-builder@${builderDigest}  `), right.stdout);
    assert.match(right.stdout, /, the builder \(as :1\)/);
  });
});
