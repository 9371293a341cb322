// The pipeline against `docker build -` itself (legacy builder), on the real engine: each generated tar
// is piped to the docker CLI and, from a builder that cats it, through Dockerception. Where both build,
// the images must hold the same files (names, types, link targets, sizes, checksums). Where we refuse,
// the code must be the expected one, and Docker's own outcome is checked too, so a refusal is either
// Docker's or one of the deliberate ones (a cut-off, trailing data, a climbing link or name).
// The table of outcomes is written to test-artifacts/differential.md.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { buildPair, DockerceptionError, pairAt } from '../../src/core';
import { makeTar, toV7, type TarEntrySpec } from '../support/tar';
import { BUSYBOX, ROOT, leftovers, makeBuilderPair, removeDir, removeImages, testEngine } from './helpers';

const DOCKERFILE: TarEntrySpec = { name: 'Dockerfile', content: 'FROM scratch\nCOPY . /ctx/\n' };
const hello: TarEntrySpec = { name: 'a.txt', content: 'hello\n' };

interface Case {
  name: string;
  tar: () => Promise<Buffer>;
  /** 'build': both must build the same image. Otherwise our code, and whether Docker builds it. */
  expect: 'build' | { ours: string; dockerBuilds: boolean; why: string };
}

const withoutEnd = async (entries: TarEntrySpec[], keep: number) => (await makeTar(entries)).subarray(0, (await makeTar(entries)).length - 1024 + keep);

const cases: Case[] = [
  {
    name: 'rootfs with absolute symlinks and hard links',
    tar: () =>
      makeTar([
        DOCKERFILE,
        { name: 'bin/', type: 'directory', mode: 0o755 },
        { name: 'bin/busybox', content: Buffer.alloc(3000, 7), mode: 0o755 },
        { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
        { name: 'bin/ash', type: 'link', linkname: '/bin/busybox' },
        { name: 'bin/hush', type: 'link', linkname: 'bin/busybox' },
        { name: 'usr/lib/libc.so.6', type: 'symlink', linkname: '/lib/x86_64-linux-gnu/libc.so.6' },
        { name: 'etc/alternatives/awk', type: 'symlink', linkname: '/usr/bin/mawk' },
      ]),
    expect: 'build',
  },
  { name: 'absolute entry names', tar: () => makeTar([DOCKERFILE, { name: '/abs/file', content: 'x' }, { name: '/a/../b', content: 'y' }]), expect: 'build' },
  {
    name: 'PAX long names and link targets',
    tar: () =>
      makeTar([DOCKERFILE, { name: `${'long-dir/'.repeat(20)}file`, content: 'deep' }, { name: 'l', type: 'symlink', linkname: `/${'t'.repeat(150)}` }]),
    expect: 'build',
  },
  {
    name: 'v7 (pre-POSIX) tar',
    tar: async () => {
      const archive = await makeTar([DOCKERFILE, hello]);
      toV7(archive, 0);
      toV7(archive, 1024);
      return archive;
    },
    expect: 'build',
  },
  { name: 'gzip-compressed tar', tar: async () => gzipSync(await makeTar([DOCKERFILE, hello])), expect: 'build' },
  {
    name: 'zero-heavy files (2 KiB zero runs)',
    tar: () =>
      makeTar([
        DOCKERFILE,
        ...Array.from({ length: 50 }, (_, i) => ({
          name: `obj/${i}.o`,
          content: Buffer.concat([Buffer.from(`obj${i}`), Buffer.alloc(2048), Buffer.from('end')]),
        })),
      ]),
    expect: 'build',
  },
  {
    name: 'a file ending in 9 MiB of zeros',
    tar: () => makeTar([DOCKERFILE, { name: 'tail.bin', content: Buffer.concat([Buffer.from('data'), Buffer.alloc(9 * 1024 * 1024)]) }]),
    expect: 'build',
  },
  { name: 'one zero block, then the end', tar: () => withoutEnd([DOCKERFILE, hello], 512), expect: 'build' },
  {
    name: 'symlink climbing out',
    tar: () => makeTar([DOCKERFILE, hello, { name: 's', type: 'symlink', linkname: '../../x' }]),
    expect: { ours: 'UNSAFE_PATH', dockerBuilds: true, why: 'Docker confines it (chrooted untar); no working builder writes it' },
  },
  {
    name: 'hard link climbing out',
    tar: () => makeTar([DOCKERFILE, hello, { name: 'h', type: 'link', linkname: '../a.txt' }]),
    expect: { ours: 'UNSAFE_PATH', dockerBuilds: true, why: 'as above' },
  },
  {
    name: "name climbing out with '..'",
    tar: () => makeTar([DOCKERFILE, hello, { name: 'a/../../esc', content: 'x' }]),
    expect: { ours: 'UNSAFE_PATH', dockerBuilds: true, why: 'Docker moves it to the root; we refuse rather than build what was not meant' },
  },
  {
    name: 'cut in the middle of an entry',
    tar: async () => (await makeTar([DOCKERFILE, { name: 'big', content: Buffer.alloc(5000, 1) }])).subarray(0, 3000),
    expect: { ours: 'TRUNCATED_TAR', dockerBuilds: false, why: 'Docker refuses it too' },
  },
  {
    name: 'no end-of-archive blocks',
    tar: () => withoutEnd([DOCKERFILE, hello], 0),
    expect: { ours: 'TRUNCATED_TAR', dockerBuilds: true, why: 'Docker builds whatever arrived; a tar without its end was cut off' },
  },
  {
    name: 'text after the tar',
    tar: async () => Buffer.concat([await makeTar([DOCKERFILE, hello]), Buffer.from('build done\n')]),
    expect: { ours: 'TRAILING_DATA', dockerBuilds: true, why: 'Docker ignores it; it means logs went to stdout' },
  },
  {
    name: 'not a tar',
    tar: async () => Buffer.from('Build OK: 3 files\n'.repeat(40)),
    expect: { ours: 'NOT_A_TAR', dockerBuilds: false, why: 'Docker refuses it too' },
  },
  {
    name: 'bzip2-compressed tar',
    tar: async () => execFileSync('bzip2', ['-c'], { input: await makeTar([DOCKERFILE, hello]) }),
    expect: { ours: 'NOT_A_TAR', dockerBuilds: true, why: 'not read yet: the message says to use gzip or a plain tar' },
  },
];

/** The files under /ctx of an image: path → type, link target, size, sha256 (from `docker export`). */
async function listing(image: string): Promise<Map<string, string>> {
  const id = execFileSync('docker', ['create', image, 'none'], { encoding: 'utf8' }).trim();
  try {
    const exported = execFileSync('docker', ['export', id], { maxBuffer: 256 * 1024 * 1024 });
    const files = new Map<string, string>();
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const hash = createHash('sha256');
      stream.on('data', (data) => hash.update(data as Buffer));
      stream.on('end', () => {
        if (header.name.startsWith('ctx/')) files.set(header.name, `${header.type} ${header.linkname ?? ''} ${header.size} ${hash.digest('hex').slice(0, 16)}`);
        next();
      });
    });
    await new Promise<void>((resolve, reject) => {
      extract.on('finish', resolve);
      extract.on('error', reject);
      extract.end(exported);
    });
    return files;
  } finally {
    execFileSync('docker', ['rm', id], { stdio: 'ignore' });
  }
}

describe('differential: the pipeline against docker build -', () => {
  const rows: string[] = [];
  const dirs: string[] = [];
  const tags: string[] = [];
  after(async () => {
    for (const dir of dirs) removeDir(path.dirname(dir));
    await removeImages(...tags);
    mkdirSync(path.join(ROOT, 'test-artifacts'), { recursive: true });
    writeFileSync(
      path.join(ROOT, 'test-artifacts', 'differential.md'),
      `| builder output | \`docker build -\` | Dockerception | why |\n|---|---|---|---|\n${rows.join('\n')}\n`,
    );
  });

  cases.forEach((c, i) => {
    it(c.name, async () => {
      const archive = await c.tar();
      const dockerTag = `dc-diff-docker-${i}`;
      const oursTag = `dc-diff-ours-${i}`;
      tags.push(dockerTag, oursTag, `${oursTag}-builder`);
      const piped = spawnSync('docker', ['build', '-q', '-t', dockerTag, '-'], {
        input: archive,
        env: { ...process.env, DOCKER_BUILDKIT: '0' },
        encoding: 'utf8',
      });
      const dockerBuilt = piped.status === 0;

      const dir = makeBuilderPair('', {
        builder: `FROM ${BUSYBOX}\nCOPY payload /payload\nCMD ["cat", "/payload/case.tar"]\n`,
        payload: { 'case.tar': archive },
      });
      dirs.push(dir);
      const engine = await testEngine();
      let ours: string;
      try {
        await buildPair(engine, await pairAt(dir), { tag: oursTag });
        ours = 'builds';
      } catch (error) {
        if (!(error instanceof DockerceptionError)) throw error;
        ours = error.code;
      }
      rows.push(
        `| ${c.name} | ${dockerBuilt ? 'builds' : 'refuses'} | ${ours === 'builds' ? 'builds, same files' : ours} | ${c.expect === 'build' ? '' : c.expect.why} |`,
      );

      if (c.expect === 'build') {
        assert.ok(dockerBuilt, `docker build - refused it: ${piped.stderr}`);
        assert.equal(ours, 'builds');
        const theirs = await listing(dockerTag);
        assert.ok(theirs.size > 0, 'the image holds files under /ctx');
        assert.deepEqual(await listing(oursTag), theirs);
      } else {
        assert.equal(ours, c.expect.ours);
        assert.equal(dockerBuilt, c.expect.dockerBuilds, `docker build - ${dockerBuilt ? 'built' : 'refused'} it: ${piped.stderr.slice(-300)}`);
      }
      assert.deepEqual(await leftovers(), []);
    });
  });
});
