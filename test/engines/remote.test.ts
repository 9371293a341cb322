import * as assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { SSH_MAX_CONNECTIONS, SshDialAgent, closeEngine, connectEngine } from '../../src/core/engine';
import { pairFor } from '../../src/core/pairs';
import { buildPair } from '../../src/core/pipeline';
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
  const tags = ['dc-e-ssh', 'dc-e-ssh-builder', 'dc-e-ssh2', 'dc-e-ssh2-builder', 'dc-e-ssh-cap', 'dc-e-ssh-cap-builder'];

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

  it('quotes the socket path for the remote shell: the socket it names is dialled and nothing in it runs', async () => {
    // The socket is a listener of the test's own that forwards to the engine and counts connections, so
    // "the engine answered" cannot come from the remote docker falling back to its default socket.
    const dir = tempDir('dc-ssh-socket-');
    // Short: a unix socket path has at most 107 bytes.
    const tag = `dci${Math.random().toString(36).slice(2, 6)}`;
    const name = `a b;touch ${tag}s;$(touch ${tag}p)'q'\`touch ${tag}b\`.sock`;
    const socketPath = path.join(dir, name);
    let dialled = 0;
    const forward = net.createServer((client) => {
      dialled++;
      const engine = net.connect('/var/run/docker.sock');
      client.pipe(engine).pipe(client);
      client.on('error', () => engine.destroy());
      engine.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => forward.listen(socketPath, resolve));
    try {
      const encoded = socketPath.replace(/[^A-Za-z0-9/._-]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
      const url = `ssh://${sshd.alias}${encoded}`;
      const engine = await ourEngine(cleanEnv({ PATH: sshd.path }), '--host', url);
      assert.equal(engine.code, 0, engine.stderr);
      assert.ok(dialled > 0, 'the remote docker dialled the socket the URL names');
      // The remote shell runs in the user's home; an injected command would have run there or here.
      const markers = [os.homedir(), dir, process.cwd()].flatMap((where) =>
        readdirSync(where)
          .filter((f) => f.startsWith(tag))
          .map((f) => path.join(where, f)),
      );
      assert.deepEqual(markers, [], 'no command in the socket path ran on the remote host');
    } finally {
      await new Promise((resolve) => forward.close(resolve));
    }
  });

  it('refuses a socket path a POSIX shell cannot quote, before running ssh', async () => {
    const result = await ourEngine(cleanEnv({ PATH: sshd.path }), '--host', `ssh://${sshd.alias}/run/a%0Atouch%20x.sock`);
    assert.equal(result.code, 3, result.stderr);
    assert.match(result.stderr, /socket path holding the character U\+000A, which a POSIX shell cannot quote; nothing was sent to dc-build-box/);
  });

  it('keeps at most the cap of ssh processes through 10 reconnects with builds between, and none once a client is dropped', async () => {
    const savedPath = process.env.PATH;
    process.env.PATH = sshd.path; // the program under test runs plain `ssh`, found on PATH
    const records = tempDir('dc-ssh-records-');
    let peak = 0;
    const samples: number[] = [];
    const sampler = setInterval(() => {
      const now = sshChildren();
      samples.push(now);
      peak = Math.max(peak, now);
    }, 5);
    try {
      for (let round = 0; round < 10; round++) {
        const engine = await connectEngine({ host: `ssh://${sshd.alias}`, env: cleanEnv({ PATH: sshd.path }) }, 30_000);
        // What the tree does: many image inspects at once. They queue under the cap.
        await Promise.all(Array.from({ length: 12 }, () => engine.docker.getImage(BUSYBOX).inspect()));
        if (round % 3 === 0) {
          const result = await buildPair(engine, pairFor(pair), { tag: 'dc-e-ssh-cap', builder: 'legacy', recordsDir: records, force: true });
          assert.equal(result.ok, true);
        }
        assert.ok(sshChildren() > 0, 'idle connections are kept for the next request while the client lives');
        closeEngine(engine); // the reset path: Refresh, another engine, an unreachable error
        const deadline = Date.now() + 5000;
        while (sshChildren() > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(sshChildren(), 0, `round ${round}: ssh processes left after the client was dropped`);
      }
      // The builder's attach is a stream taken out of the pool: one more than the cap while a build runs.
      assert.ok(peak <= SSH_MAX_CONNECTIONS + 1, `at most ${SSH_MAX_CONNECTIONS} ssh processes (+1 attach stream) at once; saw ${peak}`);
      console.log(`ssh processes: peak ${peak} over ${samples.length} samples (cap ${SSH_MAX_CONNECTIONS})`);
    } finally {
      clearInterval(sampler);
      process.env.PATH = savedPath;
    }
  });

  it('closes an idle ssh connection after the idle timeout', async () => {
    const agent = new SshDialAgent({ host: sshd.alias }, path.join(sshd.binDir, 'ssh'), 300);
    const DockerClient = (await import('dockerode')).default;
    const docker = new DockerClient({ protocol: 'http', host: 'docker', port: 80, agent } as Docker.DockerOptions);
    try {
      await docker.ping();
      assert.equal(agent.processes, 1, 'one ssh process carried the ping');
      const deadline = Date.now() + 5000;
      while (agent.processes > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(agent.processes, 0, 'the idle ssh process was ended');
      await docker.ping(); // and a new one is started for the next request
      assert.equal(agent.processes, 1, 'a new ssh process for the next request');
    } finally {
      agent.destroy();
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

/** ssh processes this test process started (children named ssh; the tests' ssh wrapper execs it). */
function sshChildren(): number {
  let count = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (comm === 'ssh' && Number(fields[1]) === process.pid && fields[0] !== 'Z') count++;
    } catch {
      // gone meanwhile
    }
  }
  return count;
}
