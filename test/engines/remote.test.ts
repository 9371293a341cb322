import * as assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeCerts, type Certs } from '../support/endpoints/certs';
import { PrivateEngine } from '../support/endpoints/dockerd';
import { freePort, mustRun, portIsFree } from '../support/endpoints/process';
import { SshServer } from '../support/endpoints/sshd';
import { BUSYBOX, imageExists, jsonOf, makeBuilderPair, removeDir, removeImages, runCli } from '../unit/helpers';
import { cleanEnv, dockerCli, ourEngine, removeTempDirs, tempDir } from './env';

const isRoot = process.getuid?.() === 0;
const needRoot = !isRoot && 'sshd and a second dockerd need root';

/** A pair whose builder writes one file; the runtime image is scratch with that file. */
function tinyPair(): string {
  return makeBuilderPair('mkdir -p /o && echo hello > /o/hello.txt && tar -C /o -cf - .\n');
}

describe('ssh:// engines, through the system ssh as the docker CLI does', { skip: needRoot }, () => {
  let sshd: SshServer;
  let pair: string;
  const tags = ['dc-e-ssh', 'dc-e-ssh-builder', 'dc-e-ssh2', 'dc-e-ssh2-builder'];

  before(async () => {
    sshd = new SshServer(await freePort());
    await sshd.start();
    pair = tinyPair();
  });
  after(async () => {
    await removeImages(...tags);
    await sshd?.remove();
    removeDir(path.dirname(pair));
  });

  it('builds a pair on ssh://ALIAS, the alias and key coming from the ssh config', async () => {
    const env = cleanEnv({ PATH: sshd.path, DOCKER_HOST: `ssh://${sshd.alias}` });
    assert.ok(dockerCli(env).ok, `the docker CLI itself must reach ssh://${sshd.alias}: ${dockerCli(env).out}`);
    const result = await runCli(['build', pair, '--tag', 'dc-e-ssh', '--json'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(jsonOf(result).ok, true);
    assert.ok(await imageExists('dc-e-ssh'));
    assert.match(mustRun('cat', [path.join(process.cwd(), 'test-artifacts', 'endpoints', 'sshd.log')]), /Accepted publickey for /);
  });

  it('takes ssh://user@host:port, and says where the address came from', async () => {
    const url = `ssh://${sshd.user}@127.0.0.1:${sshd.port}`;
    const engine = await ourEngine(cleanEnv({ PATH: sshd.path }), '--host', url);
    assert.equal(engine.code, 0, engine.stderr);
    assert.deepEqual([jsonOf(engine).url, jsonOf(engine).source], [url, 'flag']);
    const build = await runCli(['build', pair, '--tag', 'dc-e-ssh2', '--host', url], { env: cleanEnv({ PATH: sshd.path }) });
    assert.equal(build.code, 0, build.stderr);
  });

  it('refuses a changed host key before sending anything, and says what to do', async () => {
    await sshd.changeHostKey();
    try {
      const env = cleanEnv({ PATH: sshd.path, DOCKER_HOST: `ssh://${sshd.alias}` });
      assert.equal(dockerCli(env).ok, false, 'the docker CLI refuses it too');
      await removeImages('dc-e-ssh');
      const result = await runCli(['build', pair, '--tag', 'dc-e-ssh'], { env });
      assert.equal(result.code, 3, result.stderr);
      assert.match(result.stderr, /ENGINE_UNREACHABLE/);
      assert.match(result.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED|host key/i);
      assert.match(result.stderr, /its host key is not the one in known_hosts, so this may be a man in the middle and nothing was sent/);
      assert.match(result.stderr, /ssh-keygen -R 127\.0\.0\.1|ssh-keygen -R dc-build-box/);
      assert.equal(await imageExists('dc-e-ssh'), false);
    } finally {
      sshd.trustHostKey();
    }
  });

  it('refuses a host it does not know instead of asking', async () => {
    writeFileSync(path.join(sshd.dir, 'known_hosts'), '');
    try {
      const result = await ourEngine(cleanEnv({ PATH: sshd.path, DOCKER_HOST: `ssh://${sshd.alias}` }));
      assert.equal(result.code, 3);
      assert.match(result.stderr, /does not know .*host key and cannot ask here: run 'ssh dc-build-box' once/);
    } finally {
      sshd.trustHostKey();
    }
  });
});

describe('tcp:// engines, TLS and plain, and docker contexts, decided as the docker CLI decides', { skip: needRoot }, () => {
  let certs: Certs;
  let certDir: string;
  let tls: PrivateEngine;
  let plain: PrivateEngine | undefined;
  let pair: string;

  before(async () => {
    certDir = mkdtempSync(path.join(os.tmpdir(), 'dc-certs-'));
    certs = makeCerts(certDir);
    tls = new PrivateEngine('tls', { port: await freePort(), certs });
    await tls.start();
    tls.loadFrom([BUSYBOX]);
    if (await portIsFree(2375)) {
      plain = new PrivateEngine('tcp-2375', { port: 2375 });
      await plain.start();
      plain.loadFrom([BUSYBOX]);
    }
    pair = tinyPair();
  });
  after(async () => {
    await tls?.remove();
    await plain?.remove();
    rmSync(certDir, { recursive: true, force: true });
    removeDir(path.dirname(pair));
    removeTempDirs();
  });

  const onTls = (ref: string) => mustRun('docker', ['-H', tls.url, 'images', '-q', ref]).trim() !== '';

  it('DOCKER_TLS_VERIFY and DOCKER_CERT_PATH: builds on the TLS engine', async () => {
    const env = cleanEnv({ DOCKER_HOST: tls.tcpUrl, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.client });
    const result = await runCli(['build', pair, '--tag', 'dc-e-tls', '--json'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(onTls('dc-e-tls'), 'the image is on the TLS engine');
  });

  /** Each case: the environment, whether the docker CLI and we must reach the engine, and what we say if not. */
  const cases: Array<{ name: string; env: () => NodeJS.ProcessEnv; host?: () => string; ok: boolean; says?: RegExp }> = [
    {
      name: '--host (docker -H) takes its TLS from the variables too',
      env: () => ({ DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.client, DOCKER_HOST: 'tcp://127.0.0.1:9' }),
      host: () => tls.tcpUrl,
      ok: true,
    },
    {
      name: 'DOCKER_TLS_VERIFY without DOCKER_CERT_PATH reads the docker config folder',
      env: () => ({ DOCKER_HOST: tls.tcpUrl, DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: copyOf(certs.client) }),
      ok: true,
    },
    {
      name: 'DOCKER_TLS_VERIFY=0 still turns TLS on (any value does, in the CLI)',
      env: () => ({ DOCKER_HOST: tls.tcpUrl, DOCKER_TLS_VERIFY: '0', DOCKER_CERT_PATH: certs.client }),
      ok: true,
    },
    {
      name: 'a ca.pem that did not sign the engine certificate is refused',
      env: () => ({ DOCKER_HOST: tls.tcpUrl, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.wrongCa }),
      ok: false,
      says: /not signed by the ca\.pem in .*wrong-ca/,
    },
    {
      name: 'DOCKER_TLS without verification accepts it',
      env: () => ({ DOCKER_HOST: tls.tcpUrl, DOCKER_TLS: '1', DOCKER_CERT_PATH: certs.wrongCa }),
      ok: true,
    },
    {
      name: 'no client certificate: the engine refuses',
      env: () => ({ DOCKER_HOST: tls.tcpUrl, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.caOnly }),
      ok: false,
      says: /refused the client certificate/,
    },
    {
      name: 'no ca.pem where TLS looks: a clear error, not ENOENT',
      env: () => ({ DOCKER_HOST: tls.tcpUrl, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir + '/nothing-here' }),
      ok: false,
      says: /there is no ca\.pem in .*nothing-here \(from DOCKER_CERT_PATH\)/,
    },
    {
      name: 'a cert folder without TLS variables does not turn TLS on',
      env: () => ({ DOCKER_HOST: tls.tcpUrl, DOCKER_CERT_PATH: certs.client }),
      ok: false,
      says: /The engine wants TLS: set DOCKER_TLS_VERIFY=1/,
    },
    { name: 'TLS variables with a unix socket', env: () => ({ DOCKER_HOST: tls.url, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs.client }), ok: true },
  ];
  for (const kase of cases) {
    it(kase.name, async () => {
      const env = cleanEnv(kase.env());
      const host = kase.host?.();
      const cli = host ? dockerCli(env, '-H', host, 'version', '--format', '{{.Server.Version}}') : dockerCli(env);
      const ours = host ? await ourEngine(env, '--host', host) : await ourEngine(env);
      assert.equal(cli.ok, kase.ok, `the docker CLI: ${cli.out}`);
      assert.equal(ours.ok, kase.ok, `dockerception: ${ours.stderr}`);
      if (kase.says) {
        assert.match(ours.stderr, kase.says);
        assert.equal(ours.code, 3);
      }
    });
  }

  it('a docker context made by the docker CLI, with its TLS files, is used and named', async () => {
    const env = cleanEnv();
    const host = `host=${tls.tcpUrl},ca=${certs.client}/ca.pem,cert=${certs.client}/cert.pem,key=${certs.client}/key.pem`;
    mustRun('docker', ['context', 'create', 'dc-tls', '--docker', host], { env });
    mustRun('docker', ['context', 'use', 'dc-tls'], { env });
    const engine = await ourEngine(env);
    assert.equal(engine.code, 0, engine.stderr);
    assert.equal(jsonOf(engine).source, 'context dc-tls');
    assert.equal(jsonOf(engine).tls.verify, true);
    await removeImages('dc-e-ctx');
    const build = await runCli(['build', pair, '--tag', 'dc-e-ctx'], { env });
    assert.equal(build.code, 0, build.stderr);
    assert.ok(onTls('dc-e-ctx'));
    // The context's TLS is its own: DOCKER_TLS_VERIFY with a folder that holds nothing changes nothing.
    const withVars = { ...env, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certDir + '/nothing-here' };
    assert.deepEqual([dockerCli(withVars).ok, (await ourEngine(withVars)).ok], [true, true]);
  });

  it("a context's SkipTLSVerify is honoured, and a wrong CA without it is refused", async () => {
    const env = cleanEnv();
    const files = `ca=${certs.wrongCa}/ca.pem,cert=${certs.wrongCa}/cert.pem,key=${certs.wrongCa}/key.pem`;
    mustRun('docker', ['context', 'create', 'dc-skip', '--docker', `host=${tls.tcpUrl},${files},skip-tls-verify=true`], { env });
    mustRun('docker', ['context', 'create', 'dc-wrong', '--docker', `host=${tls.tcpUrl},${files}`], { env });
    const skip = { ...env, DOCKER_CONTEXT: 'dc-skip' };
    const wrong = { ...env, DOCKER_CONTEXT: 'dc-wrong' };
    assert.deepEqual([dockerCli(skip).ok, (await ourEngine(skip)).ok], [true, true]);
    const refused = await ourEngine(wrong);
    assert.deepEqual([dockerCli(wrong).ok, refused.ok], [false, false]);
    assert.match(refused.stderr, /not signed by the ca\.pem/);
    assert.match(refused.stderr, /It comes from the docker context 'dc-wrong'/);
  });

  it('plain tcp://127.0.0.1 means port 2375, and builds there', async (t) => {
    if (!plain) return t.skip('port 2375 is taken on this machine');
    const env = cleanEnv({ DOCKER_HOST: 'tcp://127.0.0.1' });
    assert.ok(dockerCli(env).ok);
    const result = await runCli(['build', pair, '--tag', 'dc-e-tcp'], { env });
    assert.equal(result.code, 0, result.stderr);
    assert.notEqual(mustRun('docker', ['-H', plain.url, 'images', '-q', 'dc-e-tcp']).trim(), '');
  });
});

/** A docker config folder holding the given TLS files, as ~/.docker would. */
function copyOf(dir: string): string {
  const copy = tempDir('dc-docker-config-');
  cpSync(dir, copy, { recursive: true });
  return copy;
}
