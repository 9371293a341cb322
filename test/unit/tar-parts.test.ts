// The tar gate's parts, each alone (pure: no engine): header decoding, the reader's walk and what it
// holds, the end hold's arithmetic, and the verdict's order and wording.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DockerceptionError } from '../../src/core/errors';
import { sniffCompression } from '../../src/core/tar/compression';
import { EndHold } from '../../src/core/tar/end-hold';
import { contextPath, isRootDockerfile, unsafeReason, type TarEntry } from '../../src/core/tar/entry-rules';
import { TarHeaderError, decodeHeader, numeric, parsePax } from '../../src/core/tar/header';
import { TarReader, firstNonZero } from '../../src/core/tar/reader';
import { builderOutputVerdict, showBytes } from '../../src/core/tar/verdict';
import { makeTar, toV7, writeChecksum } from '../support/tar';

function read(archive: Buffer, chunkSize = archive.length || 1): { reader: TarReader; entries: TarEntry[]; holds: Array<number | undefined> } {
  const entries: TarEntry[] = [];
  const holds: Array<number | undefined> = [];
  const reader = new TarReader((entry) => {
    entries.push(entry);
    return undefined;
  });
  for (let at = 0; at < archive.length; at += chunkSize) {
    reader.write(archive.subarray(at, at + chunkSize));
    holds.push(reader.holdFrom());
  }
  reader.end();
  return { reader, entries, holds };
}

describe('tar header', () => {
  it('decodes ustar, v7 and base-256 sizes, and checks the checksum', async () => {
    const archive = await makeTar([{ name: `${'d'.repeat(90)}/${'f'.repeat(60)}`, content: 'abc' }]);
    const ustar = decodeHeader(archive.subarray(0, 512));
    assert.equal(ustar.format, 'ustar');
    assert.equal(ustar.name, `${'d'.repeat(90)}/${'f'.repeat(60)}`, 'prefix joined to name');
    assert.equal(ustar.size, 3n);
    toV7(archive, 0);
    assert.equal(decodeHeader(archive.subarray(0, 512)).format, 'v7');
    archive[0] ^= 1;
    assert.throws(() => decodeHeader(archive.subarray(0, 512)), TarHeaderError);
    const big = Buffer.alloc(12);
    big[0] = 0x80;
    big.writeUIntBE(9 * 1024 ** 3, 6, 6);
    assert.equal(numeric(big, 0, 12), 9n * 1024n ** 3n);
    assert.equal(numeric(Buffer.from(' 0000017\0'), 0, 9), 15n);
    assert.throws(() => numeric(Buffer.from('12x4'), 0, 4), TarHeaderError);
  });

  it('accepts a checksum summed over signed bytes, as Go does', async () => {
    const archive = await makeTar([{ name: 'ab', content: 'x' }]);
    archive[1] = 0xe9; // a byte over 127: the signed and unsigned sums differ
    let signed = 0;
    for (let i = 0; i < 512; i++) signed += i >= 148 && i < 156 ? 0x20 : archive[i] < 128 ? archive[i] : archive[i] - 256;
    archive.write(`${signed.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assert.equal(decodeHeader(archive.subarray(0, 512)).size, 1n);
    archive.write(`${(signed + 1).toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    assert.throws(() => decodeHeader(archive.subarray(0, 512)), TarHeaderError);
  });

  it('parses PAX records and refuses malformed ones', () => {
    const records = parsePax(Buffer.from('19 path=a/long/nam\n13 size=1234\n'));
    assert.equal(records.get('path'), 'a/long/nam');
    assert.equal(records.get('size'), '1234');
    assert.throws(() => parsePax(Buffer.from('99 path=x\n')), TarHeaderError);
    assert.throws(() => parsePax(Buffer.from('9 pathx\n')), TarHeaderError);
  });
});

describe('tar reader', () => {
  it('walks entries with PAX long names and long link targets at any chunk size', async () => {
    const longName = `${'n'.repeat(150)}/file`;
    const longLink = `/${'t'.repeat(120)}`;
    const archive = await makeTar([
      { name: 'Dockerfile', content: 'FROM scratch\n' },
      { name: longName, content: Buffer.alloc(700, 1) },
      { name: 'l', type: 'symlink', linkname: longLink },
      { name: 'd/', type: 'directory' },
    ]);
    for (const chunkSize of [1, 7, 512, 513, archive.length]) {
      const { reader, entries } = read(archive, chunkSize);
      assert.equal(reader.problem, undefined, `chunk ${chunkSize}`);
      assert.deepEqual(
        entries.map((e) => [e.name, e.type, e.size]),
        [
          ['Dockerfile', 'file', 13n],
          [longName, 'file', 700n],
          ['l', 'symlink', 0n],
          ['d/', 'directory', 0n],
        ],
      );
      assert.equal(entries[2].linkname, longLink);
      assert.equal(reader.endOfArchive, archive.length - 1024);
    }
  });

  it('gives header-only types no data, whatever their size field says (as Go does)', async () => {
    const archive = await makeTar([
      { name: 's', type: 'symlink', linkname: 'x' },
      { name: 'f', content: 'y' },
    ]);
    archive.write('00000001000\0', 124, 'latin1'); // a symlink claiming 512 bytes of data
    writeChecksum(archive, 0);
    const { reader, entries } = read(archive);
    assert.equal(reader.problem, undefined);
    assert.deepEqual(
      entries.map((e) => e.name),
      ['s', 'f'],
    );
  });

  it('holds from the first zero byte at a header position, and nowhere inside data', async () => {
    const archive = await makeTar([{ name: 'z', content: Buffer.alloc(5000) }]);
    const { reader, holds } = read(archive, 100);
    assert.equal(reader.problem, undefined);
    const eoa = archive.length - 1024;
    holds.forEach((hold, i) => {
      const end = Math.min((i + 1) * 100, archive.length);
      if (end <= eoa) assert.equal(hold, undefined, `after ${end} bytes nothing may be held`);
      else assert.equal(hold, eoa, `after ${end} bytes the end is held`);
    });
  });

  it('finds what is wrong: empty, not a tar, cut, no end, trailing data', async () => {
    const whole = await makeTar([{ name: 'a', content: Buffer.alloc(600, 2) }]);
    const kinds = (archive: Buffer) => read(archive).reader.problem?.kind;
    assert.equal(kinds(Buffer.alloc(0)), 'empty');
    assert.equal(kinds(Buffer.from('hello')), 'not-a-tar');
    assert.equal(kinds(Buffer.alloc(2048, 'x')), 'not-a-tar');
    assert.equal(kinds(Buffer.alloc(4096)), 'empty-archive');
    assert.equal(kinds(whole.subarray(0, 700)), 'cut-mid-entry');
    assert.equal(kinds(whole.subarray(0, 1536)), 'no-end-marker');
    assert.equal(kinds(whole.subarray(0, 1536 + 512)), undefined, 'one zero block then the end');
    const trailing = read(Buffer.concat([whole, Buffer.alloc(5000), Buffer.from('x')])).reader.problem;
    assert.deepEqual(trailing, { kind: 'trailing-data', endOfArchive: 1536, firstByte: whole.length + 5000 });
  });

  it('stops at an entry its caller refuses', async () => {
    const archive = await makeTar([
      { name: 'a', content: 'x' },
      { name: 'b', content: 'y' },
    ]);
    const reader = new TarReader((entry) => (entry.name === 'a' ? 'no a' : undefined));
    reader.write(archive);
    assert.equal(reader.problem?.kind, 'refused-entry');
    assert.equal(reader.entries, 1);
  });

  it('finds the first non-zero byte', () => {
    const buf = Buffer.alloc(200_000);
    assert.equal(firstNonZero(buf), -1);
    buf[150_001] = 1;
    assert.equal(firstNonZero(buf, 10), 150_001);
  });
});

describe('entry rules', () => {
  it('places names and links as Docker does, and refuses what climbs out', () => {
    assert.equal(contextPath('./a/b/'), 'a/b');
    assert.equal(contextPath('/a/../../b'), 'b');
    assert.equal(contextPath('a/../../b'), undefined);
    assert.equal(unsafeReason({ name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' }), undefined);
    assert.equal(unsafeReason({ name: 'a/b/c', type: 'symlink', linkname: '../../x' }), undefined);
    assert.match(unsafeReason({ name: 'a/b/c', type: 'symlink', linkname: '../../../x' }) ?? '', /points outside/);
    assert.equal(unsafeReason({ name: 'h', type: 'link', linkname: '/bin/busybox' }), undefined);
    assert.match(unsafeReason({ name: 'a/h', type: 'link', linkname: '../x' }) ?? '', /hard link/);
    assert.ok(isRootDockerfile({ name: './Dockerfile', type: 'file' }));
    assert.ok(isRootDockerfile({ name: '/dockerfile', type: 'symlink' }));
    assert.ok(!isRootDockerfile({ name: 'sub/Dockerfile', type: 'file' }));
  });
});

describe('end hold', () => {
  it('passes what is before the hold, releases held zeros when the hold moves on', () => {
    const hold = new EndHold();
    assert.deepEqual(hold.release(0, 1000, undefined), { zeros: 0, from: 0, to: 1000 });
    assert.deepEqual(hold.release(1000, 1100, 1024), { zeros: 0, from: 0, to: 24 });
    // The 76 held bytes turned out to be the start of a header: they go on before the next chunk.
    assert.deepEqual(hold.release(1100, 1600, undefined), { zeros: 76, from: 0, to: 500 });
    assert.deepEqual(hold.release(1600, 3000, 2048), { zeros: 0, from: 0, to: 448 });
    assert.equal(hold.held(3000), 952);
  });
});

describe('verdict', () => {
  const facts = { bytes: 580, entries: 0, head: Buffer.from('error: \x1b[31mno\tgo\n'), stillWriting: false };
  it('puts the builder exit status before what the output looks like', () => {
    const exit = new DockerceptionError('BUILDER_EXIT', 'exited 1', 'builder-run');
    assert.equal(builderOutputVerdict(exit, { kind: 'not-a-tar', detail: 'x' }, facts), exit);
    assert.equal(builderOutputVerdict(undefined, { kind: 'not-a-tar', detail: 'x' }, facts)?.code, 'NOT_A_TAR');
    assert.equal(builderOutputVerdict(undefined, undefined, facts), undefined);
  });
  it('shows the first bytes escaped', () => {
    assert.equal(showBytes(facts.head), '"error: \\x1b[31mno\\tgo\\n"');
  });
  it('knows the compressed formats by their magic', () => {
    assert.equal(sniffCompression(Buffer.from([0x1f, 0x8b, 0x08, 0])), 'gzip');
    assert.equal(sniffCompression(Buffer.from('BZh9')), 'bzip2');
    assert.equal(sniffCompression(Buffer.from('ustar')), undefined);
  });
});
