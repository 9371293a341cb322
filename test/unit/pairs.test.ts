// Pair names (pure: no engine; the naming root's git lookup uses temporary folders).
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { canonicalReference, findTagCollision, namingRoot, pairFor, pairName, tagCollisionError } from '../../src/core/pairs';
import { makeDir, removeDir } from './helpers';

describe('pair names: one rule for every surface', () => {
  it('names a pair after its folder relative to the root, folders joined with -', () => {
    assert.equal(pairName('/w/app', '/w'), 'app');
    assert.equal(pairName('/w/svc-a/api', '/w'), 'svc-a-api');
    assert.equal(pairName('/w/svc-b/api', '/w'), 'svc-b-api');
    assert.equal(pairName('/w/Tools/My CLI', '/w'), 'tools-my-cli');
  });

  it("a pair in the root itself takes the root's name; a prefix (a multi-root workspace's folder) goes in front", () => {
    assert.equal(pairName('/w/hello', '/w/hello'), 'hello');
    assert.equal(pairName('/w/svc-a/api', '/w/svc-a', 'svc-a'), 'svc-a-api');
    assert.equal(pairName('/w/svc-a', '/w/svc-a', 'svc-a'), 'svc-a');
  });

  it('is the same name whichever other pairs exist (no renaming when a twin appears)', () => {
    assert.equal(pairFor('/w/svc-a/api', '/w').name, 'svc-a-api');
    assert.equal(pairFor('/w/svc-a/api').name, 'api', 'without a root: its own folder');
  });

  it('the CLI names from the folder given, else the git root holding the pair, else the current folder, else the pair', async () => {
    const top = makeDir({ 'repo/.git/HEAD': 'ref: refs/heads/main\n', 'repo/services/api/Dockerfile': '', 'loose/api/Dockerfile': '' });
    try {
      const pairDir = path.join(top, 'repo', 'services', 'api');
      assert.deepEqual(await namingRoot(pairDir, path.join(top, 'repo', 'services')), { root: path.join(top, 'repo', 'services'), source: 'given' });
      assert.deepEqual(await namingRoot(pairDir, undefined, '/'), { root: path.join(top, 'repo'), source: 'git' });
      const loose = path.join(top, 'loose', 'api');
      assert.deepEqual(await namingRoot(loose, undefined, top), { root: top, source: 'cwd' });
      mkdirSync(path.join(top, 'elsewhere'));
      assert.deepEqual(await namingRoot(loose, undefined, path.join(top, 'elsewhere')), { root: loose, source: 'pair' });
    } finally {
      removeDir(top);
    }
  });
});

describe('tag collisions', () => {
  const tagged = (dir: string, tag: string) => ({ pair: pairFor(dir, '/w'), runtimeTag: tag, builderTag: `${tag}-builder` });

  it('docker.io/library/x, x and x:latest are one image', () => {
    assert.equal(canonicalReference('api'), 'api:latest');
    assert.equal(canonicalReference('docker.io/library/api:latest'), 'api:latest');
    assert.equal(canonicalReference('localhost:5000/api'), 'localhost:5000/api:latest');
    assert.equal(canonicalReference('team/api:1'), 'team/api:1');
  });

  it('finds two pairs with one runtime tag, and a runtime tag that is another pair’s builder tag, naming both pairs', () => {
    assert.equal(findTagCollision([tagged('/w/a-b/c', 'a-b-c'), tagged('/w/x', 'x')]), undefined);
    const same = findTagCollision([tagged('/w/a-b/c', 'a-b-c'), tagged('/w/a/b-c', 'a-b-c')]);
    assert.equal(same?.tag, 'a-b-c');
    assert.deepEqual([same?.first.pair.dir, same?.second.pair.dir], ['/w/a-b/c', '/w/a/b-c']);
    const message = tagCollisionError(same!, 'Rename one.').message;
    assert.match(message, /a-b-c \(\/w\/a-b\/c\) and a-b-c \(\/w\/a\/b-c\) would both be tagged a-b-c.*nothing was built\. Rename one\./);
    const builder = findTagCollision([tagged('/w/app', 'app'), tagged('/w/app-builder', 'app-builder')]);
    assert.equal(builder?.tag, 'app-builder');
    assert.equal(builder?.first.role, 'builder');
  });
});
