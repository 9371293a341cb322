// The builder's context must be what the docker CLI would send for the same folder, .dockerignore and all.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { buildImage, walkContext, packContext } from '../../src/core';
import { BUSYBOX, docker, makeDir, removeDir, removeImages, testEngine } from './helpers';

const fixture = {
  Dockerfile: `FROM ${BUSYBOX}\nCOPY . /ctx\nCMD ["sh", "-c", "cd /ctx && find . | sort"]\n`,
  '.dockerignore': [
    '# build output and secrets stay home',
    '*.log',
    'build',
    '!build/keep.txt',
    'docs/**/*.tmp',
    'secret*',
    'node_modules',
    '/absolute-style',
    'Dockerfile',
    '.dockerignore',
    '',
  ].join('\n'),
  'a.txt': 'a',
  'b.log': 'log',
  'build/out.bin': 'bin',
  'build/keep.txt': 'keep',
  'build/sub/x': 'x',
  'docs/a/b.tmp': 'tmp',
  'docs/a/c.md': 'md',
  'docs/readme.tmp': 'tmp',
  'secret.key': 'k',
  'secrets/x': 'x',
  'node_modules/m/index.js': 'js',
  'src/main.c': 'c',
  'src/app.log': 'nested logs are not matched by *.log',
  'absolute-style': 'leading / is stripped',
};

describe('builder context and .dockerignore', () => {
  const dir = makeDir(fixture);
  after(async () => {
    removeDir(dir);
    await removeImages('dc-ignore-cli', 'dc-ignore-ours');
  });

  it('sends the same files as `DOCKER_BUILDKIT=0 docker build` for the same folder', async () => {
    await docker('build', '-q', '-t', 'dc-ignore-cli', dir).catch(async (error) => {
      throw new Error(`docker CLI build failed: ${error}`);
    });
    const viaCli = await docker('run', '--rm', 'dc-ignore-cli');

    const { docker: api } = await testEngine();
    await buildImage(api, packContext(dir), { role: 'builder', tag: 'dc-ignore-ours', dockerfileHint: 'fixture' });
    const viaUs = await docker('run', '--rm', 'dc-ignore-ours');

    assert.equal(viaUs, viaCli);
    const listed = viaUs.split('\n');
    // The Dockerfile and .dockerignore are listed in .dockerignore: both builds succeeding shows they were
    // sent anyway; the engine then leaves them out of COPY, in both cases alike.
    for (const kept of ['./a.txt', './build/keep.txt', './src/app.log', './docs/a/c.md']) {
      assert.ok(listed.includes(kept), `${kept} should be sent`);
    }
    for (const dropped of [
      './b.log',
      './build/out.bin',
      './build/sub',
      './docs/a/b.tmp',
      './docs/readme.tmp',
      './secret.key',
      './secrets',
      './node_modules',
      './absolute-style',
    ]) {
      assert.ok(!listed.includes(dropped), `${dropped} should not be sent`);
    }
  });

  it('writes uid/gid 0 without owner names', async () => {
    for await (const entry of walkContext(dir)) assert.ok(!entry.name.startsWith('/'), entry.name);
    const tar = await import('tar-stream');
    const extract = tar.extract();
    const owners = new Set<string>();
    extract.on('entry', (header, stream, next) => {
      owners.add(`${header.uid}:${header.gid}:${header.uname}:${header.gname}`);
      stream.on('end', () => next());
      stream.resume();
    });
    for await (const chunk of packContext(dir)) extract.write(chunk);
    await new Promise((resolve) => extract.end(resolve));
    assert.deepEqual([...owners], ['0:0::']);
  });
});
