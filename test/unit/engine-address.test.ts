// Pure: how an engine address is chosen and turned into client options, by the docker CLI's rules. No
// engine is contacted (test/engines checks the same rules against real endpoints and the docker CLI).
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import Docker from 'dockerode';
import { spawn, spawnSync } from 'node:child_process';
import { isConnectionError } from '../../src/core/errors';
import {
  SshStdioSocket,
  createClient,
  dockerOptions,
  resolveEngine,
  quoteForShell,
  remoteCommand,
  sshArguments,
  sshTarget,
  unreachableHint,
  type EngineAddress,
} from '../../src/core/engine';

function makeDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-test-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}
const removeDir = (dir: string) => rmSync(dir, { recursive: true, force: true });

function withContexts(contexts: Record<string, object>, current?: string): string {
  const files: Record<string, string> = { 'config.json': JSON.stringify(current ? { currentContext: current } : {}) };
  for (const [name, endpoint] of Object.entries(contexts)) {
    const id = createHash('sha256').update(name).digest('hex');
    files[`contexts/meta/${id}/meta.json`] = JSON.stringify({ Name: name, Endpoints: { docker: endpoint } });
    if ((endpoint as { tls?: boolean }).tls) files[`contexts/tls/${id}/docker/ca.pem`] = 'x';
  }
  return makeDir(files);
}

describe('which engine, as the docker CLI picks it', () => {
  it('prefers --host, then DOCKER_HOST, then the current context, then the default socket', () => {
    const home = makeDir({});
    const config = withContexts({ remote: { Host: 'tcp://10.1.2.3:2375' } }, 'remote');
    try {
      assert.deepEqual(resolveEngine({ host: 'unix:///x.sock', env: { DOCKER_HOST: 'tcp://a:1' } }), { url: 'unix:///x.sock', source: 'flag' });
      assert.equal(resolveEngine({ env: { DOCKER_HOST: 'tcp://a:1', DOCKER_CONFIG: config } }).source, 'DOCKER_HOST');
      assert.deepEqual(resolveEngine({ env: { DOCKER_CONFIG: config } }), { url: 'tcp://10.1.2.3:2375', source: 'context remote' });
      assert.equal(resolveEngine({ env: { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'default' } }).source, 'default');
      assert.deepEqual(resolveEngine({ env: {}, homeDir: home }), { url: 'unix:///var/run/docker.sock', source: 'default' });
      assert.equal(resolveEngine({ env: {}, homeDir: home, platform: 'win32' }).url, 'npipe:////./pipe/docker_engine');
    } finally {
      removeDir(home);
      removeDir(config);
    }
  });

  it('takes TLS from DOCKER_TLS_VERIFY (any value), DOCKER_TLS and DOCKER_CERT_PATH, else the config folder', () => {
    const tls = (env: NodeJS.ProcessEnv) => resolveEngine({ host: 'tcp://h:1', env }).tls;
    assert.equal(tls({ DOCKER_CERT_PATH: '/certs' }), undefined, 'a cert path alone turns nothing on');
    assert.deepEqual(tls({ DOCKER_TLS_VERIFY: '0', DOCKER_CERT_PATH: '/certs' }), { dir: '/certs', dirSource: 'DOCKER_CERT_PATH', verify: true });
    assert.deepEqual(tls({ DOCKER_TLS: '1', DOCKER_CONFIG: '/cfg' }), { dir: '/cfg', dirSource: 'config dir', verify: false });
    assert.equal(resolveEngine({ env: { DOCKER_TLS_VERIFY: '1' }, homeDir: '/home/u' }).tls?.dir, '/home/u/.docker');
  });

  it("uses a context's own TLS files and SkipTLSVerify, not the TLS variables", () => {
    const config = withContexts({
      secure: { Host: 'tcp://h:2376', tls: true },
      skip: { Host: 'tcp://h:2376', SkipTLSVerify: true },
      plain: { Host: 'tcp://h:2375' },
    });
    try {
      const at = (name: string) => resolveEngine({ env: { DOCKER_CONFIG: config, DOCKER_CONTEXT: name, DOCKER_TLS_VERIFY: '1' } });
      assert.deepEqual([at('secure').tls?.verify, at('secure').tls?.dirSource], [true, 'context']);
      assert.equal(at('skip').tls?.verify, false);
      assert.equal(at('plain').tls, undefined);
      assert.throws(() => at('missing'), /The current docker context 'missing' cannot be read/);
    } finally {
      removeDir(config);
    }
  });
});

describe('engine address to client options', () => {
  const options = (url: string, extra: Partial<EngineAddress> = {}) => dockerOptions({ url, source: 'flag', ...extra });

  it('keeps unix paths as written, as the CLI does', () => {
    assert.equal(options('unix:///run/d.sock').socketPath, '/run/d.sock');
    assert.equal(options('unix://docker.sock').socketPath, 'docker.sock');
    assert.equal(options('unix://').socketPath, '/var/run/docker.sock');
    assert.equal(options('npipe:////./pipe/docker_engine').socketPath, '//./pipe/docker_engine');
  });

  it('picks the tcp port and protocol by TLS, not by the port number', () => {
    const plain = options('tcp://127.0.0.1');
    assert.deepEqual([plain.protocol, plain.host, plain.port], ['http', '127.0.0.1', 2375]);
    assert.equal(options('127.0.0.1:2376').protocol, 'http', 'port 2376 without TLS variables is plain, as for the CLI');
    assert.throws(
      () => options('tcp://h:1', { tls: { dir: '/nonexistent', dirSource: 'DOCKER_CERT_PATH', verify: true } }),
      /there is no ca\.pem in \/nonexistent \(from DOCKER_CERT_PATH\)/,
    );
  });

  it('refuses what the CLI refuses, saying what it takes', () => {
    assert.throws(() => options('http://127.0.0.1:2375'), /uses 'http:\/\/', which is not an engine address\. The docker CLI takes unix/);
    assert.throws(() => options('fd://3'), /'fd:\/\/'/);
    assert.throws(() => options('tcp://h:1?x=1'), /has a query/);
    assert.throws(() => options('ssh://h/x?y'), /has a query/);
    assert.throws(() => options('ssh://h/run/a%00b.sock'), /a NUL byte; nothing was sent to h/);
    assert.throws(() => options('ssh://h/run/a%0Ab.sock'), /U\+000A, which a POSIX shell cannot quote/);
    assert.throws(() => options('ssh://me:secret@h'), /password/);
  });

  it('runs ssh as the docker CLI does, with the remote socket when the URL names one', () => {
    assert.deepEqual(sshArguments(sshTarget({ url: 'ssh://me@build-box:2222', source: 'flag' })), [
      '-o',
      'ConnectTimeout=30',
      '-o',
      'BatchMode=yes',
      '-T',
      '-l',
      'me',
      '-p',
      '2222',
      '--',
      'build-box',
      'docker system dial-stdio',
    ]);
    // One argument for the remote shell, each word quoted for a POSIX shell (what ssh sends is that line).
    assert.deepEqual(sshArguments(sshTarget({ url: 'ssh://alias/run/user/1000/docker.sock', source: 'flag' })).slice(-2), [
      'alias',
      "docker '--host=unix:///run/user/1000/docker.sock' system dial-stdio",
    ]);
    assert.equal(remoteCommand({ host: 'h', socket: "/tmp/a b;$(touch x)'q.sock" }), `docker "--host=unix:///tmp/a b;\\$(touch x)'q.sock" system dial-stdio`);
    assert.equal(remoteCommand({ host: 'h', socket: '/' }), 'docker system dial-stdio');
    assert.deepEqual(['', 'a', 'if', 'a b', "it's", 'a$b`c"d\\e\'f'].map(quoteForShell), ["''", 'a', "'if'", "'a b'", `"it's"`, '"a\\$b\\`c\\"d\\\\e\'f"']);
    assert.throws(() => quoteForShell('a\u00a0b'), /U\+00A0/);
    const ssh = options('ssh://alias');
    assert.deepEqual([ssh.protocol, ssh.host], ['http', 'docker']);
  });

  it("keeps docker-modem's own reading of DOCKER_* out of the client", () => {
    const saved = { ...process.env };
    Object.assign(process.env, { DOCKER_HOST: 'tcp://10.9.9.9:1', DOCKER_CERT_PATH: '/nonexistent', DOCKER_TLS_VERIFY: '1', DOCKER_CLIENT_TIMEOUT: '1' });
    try {
      // docker-modem alone opens /nonexistent/ca.pem and throws.
      assert.throws(() => new Docker({ socketPath: '/x.sock' }), /ENOENT/);
      const modem = createClient(Docker, options('unix:///x.sock')).modem as unknown as Record<string, unknown>;
      assert.deepEqual([modem.socketPath, modem.host, modem.ca, modem.timeout, modem.protocol], ['/x.sock', undefined, undefined, undefined, 'http']);
      assert.equal(process.env.DOCKER_HOST, 'tcp://10.9.9.9:1', 'the environment is as it was');
    } finally {
      for (const key of ['DOCKER_HOST', 'DOCKER_CERT_PATH', 'DOCKER_TLS_VERIFY', 'DOCKER_CLIENT_TIMEOUT']) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});

describe('what to do when an engine does not answer', () => {
  const address: EngineAddress = { url: 'ssh://build-box', source: 'DOCKER_HOST' };
  const hint = (cause: string) => unreachableHint(address, cause, 'cli');
  it('reads ssh and TLS failures', () => {
    assert.match(
      hint('ssh to build-box exited with status 255: @@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@'),
      /man in the middle.*ssh-keygen -R build-box/,
    );
    assert.match(hint('ssh to build-box exited with status 255: Host key verification failed.'), /run 'ssh build-box' once/);
    assert.match(hint('ssh to build-box exited with status 255: root@build-box: Permission denied (publickey).'), /ssh-add/);
    assert.match(hint('ssh to build-box exited with status 127: bash: line 1: docker: command not found'), /has no 'docker' command/);
    assert.match(hint('self-signed certificate in certificate chain'), /not signed by the ca\.pem/);
    assert.match(hint('ECONNREFUSED'), /It comes from DOCKER_HOST/);
  });
});

describe('an ssh connection that ends', () => {
  it('carries what ssh said, and counts as the connection breaking (not the build failing)', async () => {
    // What ssh does when the remote end goes away mid-build: a line on stderr, exit status 255.
    const child = spawn('sh', ['-c', 'cat >/dev/null & echo "Connection to build-box closed by remote host." >&2; exit 255'], { stdio: 'pipe' });
    const socket = new SshStdioSocket(child, { host: 'build-box' });
    const error = await new Promise<Error>((resolve) => socket.on('error', resolve).resume());
    assert.match(error.message, /^ssh to build-box exited with status 255: Connection to build-box closed by remote host\.$/);
    assert.equal(isConnectionError(error), true);
  });

  it('ends cleanly when ssh exits 0, after passing the bytes through both ways', async () => {
    const child = spawn('sh', ['-c', 'head -c 5'], { stdio: 'pipe' });
    const socket = new SshStdioSocket(child, { host: 'h' });
    socket.end('hello world');
    const chunks: Buffer[] = [];
    for await (const chunk of socket) chunks.push(chunk as Buffer);
    assert.equal(Buffer.concat(chunks).toString(), 'hello');
  });
});

describe('words quoted for the remote shell, checked by real POSIX shells', () => {
  // The oracle is the shell itself: `sh -c "printf '%s\0' QUOTED"` must print the word back, unchanged,
  // and run nothing. The corpus is random words over the characters that are shell syntax; the seed is
  // printed so that a failure replays (DC_QUOTE_SEED=...).
  const seed = Number(process.env.DC_QUOTE_SEED ?? Date.now() % 1_000_000);
  let state = seed;
  const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const alphabet = [...`;"'()$|&><\` \\#{}~*?[]=!-_./:%aZ9é€`];
  const words = [
    "/tmp/a b;$(touch /tmp/x)'q.sock",
    '`id`',
    "'; rm -rf ~; '",
    '$HOME',
    '"$(id)"',
    '\\',
    '',
    'if',
    ...Array.from({ length: 300 }, () =>
      Array.from({ length: 1 + Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''),
    ),
  ];
  for (const shell of ['sh', 'bash']) {
    it(`${shell} reads every quoted word back as the word (seed ${seed})`, async () => {
      const script = `printf '%s\\0' ${words.map(quoteForShell).join(' ')}`;
      const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-quote-'));
      try {
        const out = await new Promise<string>((resolve, reject) => {
          const child = spawn(shell, ['-c', script], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
          let text = '';
          let errors = '';
          child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
          child.stderr.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
          child.on('error', reject);
          child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`${shell} exited ${code}: ${errors} (seed ${seed})`))));
        });
        assert.deepEqual(out.split('\0').slice(0, -1), words, `seed ${seed}`);
        assert.deepEqual(readdirSync(dir), [], `the words made files in ${dir} (seed ${seed})`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it('refuses what a POSIX shell cannot quote, as the docker CLI does', () => {
    for (const bad of ['a\0b', 'a\nb', 'a\tb', 'a\u00a0b', 'a\u200bb', '\u0007']) assert.throws(() => quoteForShell(bad), /cannot quote|NUL/);
  });
});

describe('engine addresses, read as the docker CLI itself reads them', { skip: !hasDockerCli() && 'no docker CLI on PATH' }, () => {
  // The expected URL of each row comes from `docker context inspect` run on the same environment: the
  // default context's endpoint is the CLI's reading of DOCKER_HOST and the TLS variables.
  const certDir = mkdtempSync(path.join(os.tmpdir(), 'dc-cli-certs-'));
  const rows: Array<{ name: string; env: NodeJS.ProcessEnv }> = [
    { name: 'tcp://host without a port', env: { DOCKER_HOST: 'tcp://127.0.0.1' } },
    { name: 'tcp://host without a port, under TLS', env: { DOCKER_HOST: 'tcp://127.0.0.1', DOCKER_TLS_VERIFY: '1' } },
    { name: 'DOCKER_TLS_VERIFY with no host', env: { DOCKER_TLS_VERIFY: '1' } },
    { name: 'DOCKER_TLS with no host', env: { DOCKER_TLS: '1' } },
    { name: 'surrounding whitespace', env: { DOCKER_HOST: '  tcp://127.0.0.1:2999 \t' } },
    { name: 'a bare /path', env: { DOCKER_HOST: '/var/run/docker.sock' } },
    { name: 'a tcp:// path', env: { DOCKER_HOST: 'tcp://127.0.0.1:2999/base/path' } },
    { name: 'tcp:// alone', env: { DOCKER_HOST: 'tcp://' } },
    { name: 'tcp:// with a port only', env: { DOCKER_HOST: 'tcp://:2999' } },
    { name: 'host:port without a scheme', env: { DOCKER_HOST: 'example.invalid:2999' } },
    { name: 'unix:// alone', env: { DOCKER_HOST: 'unix://' } },
    { name: 'unix socket with blanks around it', env: { DOCKER_HOST: ' unix:///tmp/x.sock ' } },
    { name: 'an IPv6 tcp host without a port', env: { DOCKER_HOST: 'tcp://[::1]' } },
    { name: 'ssh:// as written', env: { DOCKER_HOST: 'ssh://me@build-box:2222' } },
  ];
  it('each row: our URL and TLS verification equal the CLI’s, and what it refuses we refuse', () => {
    makeCertsWithOpenssl(certDir);
    try {
      for (const row of rows) {
        const env = { PATH: process.env.PATH, HOME: os.tmpdir(), DOCKER_CONFIG: certDir, DOCKER_CERT_PATH: certDir, ...row.env };
        const cli = spawnSync('docker', ['context', 'inspect', '--format', '{{.Endpoints.docker.Host}} {{.Endpoints.docker.SkipTLSVerify}}'], {
          env,
          encoding: 'utf8',
        });
        const ours = () => {
          const address = resolveEngine({ env, homeDir: os.tmpdir() });
          if (!address.url.startsWith('ssh://')) dockerOptions(address); // a client can be made for it
          return address;
        };
        if (cli.status !== 0) {
          assert.throws(ours, /The engine address/, `${row.name}: the CLI refuses it (${cli.stderr.trim()}), so must we`);
          continue;
        }
        const [url, skip] = cli.stdout.trim().split(' ');
        const address = ours();
        assert.equal(address.url, url, `${row.name}: ${JSON.stringify(row.env)}`);
        assert.equal(String(address.tls ? !address.tls.verify : false), skip, `${row.name}: SkipTLSVerify`);
      }
    } finally {
      rmSync(certDir, { recursive: true, force: true });
    }
  });
});

function hasDockerCli(): boolean {
  return spawnSync('docker', ['--version'], { encoding: 'utf8' }).status === 0;
}

/** ca.pem, cert.pem and key.pem (one self-signed certificate): the CLI opens them when TLS is on. */
function makeCertsWithOpenssl(dir: string): void {
  const made = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '2', '-subj', '/CN=dc-test'],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  assert.equal(made.status, 0, made.stderr);
  writeFileSync(path.join(dir, 'ca.pem'), readFileSync(path.join(dir, 'cert.pem')));
}
