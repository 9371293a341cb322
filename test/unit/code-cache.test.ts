// The CLI's code cache (src/cli/code-cache.ts): made at the end of a command's first run, used as it is by the
// next (V8 accepts it: it is not made again), made again when V8 rejects it, and replaced when the bundle is
// rebuilt. The CLI's answers are the same with and without it. Pure: no engine (the CLI's `list` and --version).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheCommand } from '../../src/cli/code-cache';
import { ROOT, pairsDir, removeDir } from './helpers';

describe('the CLI code cache', () => {
  let dist: string;
  let cacheDir: string;
  let pairs: string;

  before(() => {
    // A copy of the CLI, so that the test can touch its bundle without touching dist/.
    dist = fs.mkdtempSync(path.join(os.tmpdir(), 'dc-code-cache-dist-'));
    for (const name of ['cli.js', 'dockerception.js', 'buildkit-deps.js']) fs.copyFileSync(path.join(ROOT, 'dist', name), path.join(dist, name));
    cacheDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dc-code-cache-')), 'cache');
    pairs = pairsDir({ one: {}, 'two/app': {} });
  });
  after(() => {
    removeDir(dist);
    removeDir(path.dirname(cacheDir));
    removeDir(pairs);
  });

  const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const result = spawnSync(process.execPath, [path.join(dist, 'cli.js'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, DOCKERCEPTION_CODE_CACHE_DIR: cacheDir, ...env },
    });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout;
  };
  const files = () => (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).sort() : []);
  const snapshot = () => new Map(files().map((name) => [name, fs.readFileSync(path.join(cacheDir, name))]));

  it('names the cache by the command, never by an argument', () => {
    assert.equal(cacheCommand(['build', 'examples/hello-go', '--tag', 'x']), 'build');
    assert.equal(cacheCommand(['--json', 'push']), 'push');
    assert.equal(cacheCommand(['--version']), 'other');
    assert.equal(cacheCommand(['some-folder']), 'other');
  });

  it('is made by the first run, used unchanged by the next, and changes nothing the CLI says', () => {
    const plain = run(['list', pairs, '--json'], { DOCKERCEPTION_NO_CODE_CACHE: '1' });
    assert.deepEqual(files(), [], 'DOCKERCEPTION_NO_CODE_CACHE=1 makes none');
    const first = run(['list', pairs, '--json']);
    assert.equal(first, plain);
    const made = snapshot();
    assert.equal(made.size, 1, `one cache for 'list': ${[...made.keys()].join(', ')}`);
    const [name] = made.keys();
    assert.match(name, /^[0-9a-f]{16}-\d+-\d+-\d+\.v8$/);
    assert.equal(fs.statSync(cacheDir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.join(cacheDir, name)).mode & 0o777, 0o600);
    const second = run(['list', pairs, '--json']);
    assert.equal(second, plain);
    // V8 accepted it: a rejected cache would have been made again at exit (V8's data differs run to run).
    assert.deepEqual(snapshot(), made);
    run(['--version']);
    assert.equal(files().length, 2, 'another command has a cache of its own');
  });

  it('is made again when V8 rejects it, and replaced when the bundle is rebuilt', () => {
    const before = run(['list', pairs, '--json']);
    const names = files();
    // Garbage where the cache was: V8 rejects it, the run is unchanged, and the cache is made again.
    for (const name of names) fs.writeFileSync(path.join(cacheDir, name), Buffer.alloc(4096, 0x5a));
    assert.equal(run(['list', pairs, '--json']), before);
    const remade = names.filter((name) => !fs.readFileSync(path.join(cacheDir, name)).equals(Buffer.alloc(4096, 0x5a)));
    assert.equal(remade.length, 1, "the 'list' cache was made again (the --version one was not used)");
    // A rebuilt bundle (another mtime): a cache under the new name, and the old one of that command removed.
    const bundle = path.join(dist, 'dockerception.js');
    const later = new Date(fs.statSync(bundle).mtimeMs + 60_000);
    fs.utimesSync(bundle, later, later);
    assert.equal(run(['list', pairs, '--json']), before);
    const now = files();
    assert.equal(now.length, 2, now.join(', '));
    assert.ok(!now.includes(remade[0]), 'the cache of the old bundle is gone');
    assert.ok(
      now.some((name) => name.includes(`-${Math.trunc(fs.statSync(bundle).mtimeMs)}-`)),
      now.join(', '),
    );
  });
});
