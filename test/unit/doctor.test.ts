// The doctor's parts, pure (no engine): ELF facts from streamed bytes (this machine's own binaries and
// crafted headers), path resolution through symlinks, each finding, and the file diff behind "what grew".
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { diagnose, ElfCapture, fileChanges, FileTree, listingOf, type ElfInfo, type ImageConfig, type ImageFile } from '../../src/core/doctor';

/** Feeds a file through ElfCapture in chunks of `size` bytes, as a tar stream would. */
function captured(bytes: Buffer, size: number): ElfInfo | undefined {
  const capture = new ElfCapture();
  for (let at = 0; at < bytes.length; at += size) capture.push(bytes.subarray(at, at + size));
  return capture.info();
}

/** A 64-byte ELF header with no program headers: a static file for `machine`. */
function elfHeader(machine: number, bits: 32 | 64 = 64): Buffer {
  const header = Buffer.alloc(64);
  header.write('\x7fELF', 0, 'latin1');
  header[4] = bits === 64 ? 2 : 1;
  header[5] = 1; // little-endian
  header.writeUInt16LE(2, 16); // executable
  header.writeUInt16LE(machine, 18);
  header.writeUInt16LE(bits === 64 ? 56 : 32, bits === 64 ? 54 : 42);
  return header;
}

const file = (path: string, extra: Partial<ImageFile> = {}): ImageFile => ({ path, type: 'file', size: 10, mode: 0o755, ...extra });
const dir = (path: string): ImageFile => ({ path, type: 'directory', size: 0, mode: 0o755 });
const link = (path: string, linkTarget: string): ImageFile => ({ path, type: 'symlink', size: 0, mode: 0o777, linkTarget });
const dynamic: ElfInfo = { bits: 64, machine: 62, type: 3, interpreter: '/lib64/ld-linux-x86-64.so.2', needed: ['libc.so.6'] };
const amd64 = (config: ImageConfig = {}): ImageConfig => ({ architecture: 'amd64', entrypoint: ['/app'], ...config });
const codes = (files: ImageFile[], config: ImageConfig) => diagnose(files, config).map((f) => `${f.code} ${f.path}`);

describe('ELF facts', () => {
  it("reads this machine's dynamically linked /bin/ls at any chunk size: loader and libraries", () => {
    const bytes = readFileSync('/bin/ls');
    for (const size of [bytes.length, 65_536, 1000, 7]) {
      const info = captured(bytes, size);
      assert.equal(info?.machine, 62, `chunks of ${size}`);
      assert.equal(info?.bits, 64);
      assert.equal(info?.interpreter, '/lib64/ld-linux-x86-64.so.2');
      assert.ok(info?.needed?.includes('libc.so.6'), JSON.stringify(info?.needed));
    }
  });

  it('reads a static binary (busybox-static) as needing no loader', () => {
    const info = captured(readFileSync('/bin/busybox'), 65_536);
    assert.equal(info?.machine, 62);
    assert.equal(info?.interpreter, undefined);
    assert.equal(info?.needed, undefined);
  });

  it('reads crafted 32- and 64-bit headers for other machines', () => {
    assert.deepEqual(captured(elfHeader(183), 64), { bits: 64, machine: 183, type: 2 });
    assert.deepEqual(captured(Buffer.concat([elfHeader(40, 32).subarray(0, 52)]), 10), { bits: 32, machine: 40, type: 2 });
    assert.equal(captured(Buffer.from('#!/bin/sh\necho hi\n'), 4), undefined);
  });
});

describe('paths in the image', () => {
  it('follows absolute, relative and chained symlinks, in every component, and gives up on loops', () => {
    const tree = new FileTree([
      dir('/lib'),
      dir('/lib/x86_64-linux-gnu'),
      file('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'),
      link('/lib64', 'lib'),
      link('/lib/ld.so', 'x86_64-linux-gnu/ld-linux-x86-64.so.2'),
      link('/usr', '/'),
      link('/loop', '/loop'),
    ]);
    assert.equal(tree.resolve('/lib64/x86_64-linux-gnu/ld-linux-x86-64.so.2')?.path, '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    assert.equal(tree.resolve('/usr/lib/ld.so')?.path, '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    assert.equal(tree.resolve('/lib/../lib/ld.so')?.path, '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2');
    assert.equal(tree.resolve('/loop'), undefined);
    assert.equal(tree.resolve('/nope'), undefined);
  });
});

describe('doctor findings', () => {
  it('a dynamically linked binary on scratch: MISSING_LOADER naming the loader, the libraries and the fix', () => {
    const [finding] = diagnose([file('/app', { elf: dynamic })], amd64());
    assert.equal(finding.code, 'MISSING_LOADER');
    assert.equal(finding.severity, 'error');
    assert.equal(finding.path, '/app');
    assert.match(
      finding.message,
      /\/app is dynamically linked: it needs the loader \/lib64\/ld-linux-x86-64\.so\.2 and the library libc\.so\.6.*CGO_ENABLED=0; C: -static/,
    );
  });

  it('with the loader but not a library: MISSING_LIBRARY; with both (through a /lib64 symlink), nothing', () => {
    const base = [
      file('/app', { elf: dynamic }),
      dir('/lib'),
      dir('/lib/x86_64-linux-gnu'),
      file('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'),
      link('/lib64', 'lib/x86_64-linux-gnu'),
    ];
    assert.deepEqual(codes(base, amd64()), ['MISSING_LIBRARY /app']);
    assert.deepEqual(codes([...base, file('/lib/x86_64-linux-gnu/libc.so.6')], amd64()), []);
    const withRunPath = { ...dynamic, needed: ['libfoo.so'], runPath: ['/opt/foo'] };
    assert.deepEqual(codes([...base.slice(1), file('/app', { elf: withRunPath }), dir('/opt'), dir('/opt/foo'), file('/opt/foo/libfoo.so')], amd64()), []);
  });

  it('a static binary of the image architecture: nothing', () => {
    assert.deepEqual(codes([file('/app', { elf: { bits: 64, machine: 62, type: 2 } })], amd64()), []);
  });

  it('ENTRYPOINT missing, not executable, or a directory', () => {
    assert.deepEqual(codes([file('/other')], amd64()), ['MISSING_ENTRYPOINT /app']);
    const [notExecutable] = diagnose([file('/app', { mode: 0o644 })], amd64());
    assert.equal(notExecutable.code, 'NOT_EXECUTABLE');
    assert.match(notExecutable.message, /not executable \(mode 0644\)\. Make it executable/);
    assert.deepEqual(codes([dir('/app')], amd64()), ['NOT_EXECUTABLE /app']);
  });

  it('finds CMD through the image PATH and WORKDIR when there is no ENTRYPOINT', () => {
    const files = [dir('/bin'), file('/bin/server'), dir('/srv'), file('/srv/run')];
    assert.deepEqual(codes(files, { architecture: 'amd64', cmd: ['server'] }), []);
    assert.deepEqual(codes(files, { architecture: 'amd64', cmd: ['./run'], workingDir: '/srv' }), []);
    assert.deepEqual(codes(files, { architecture: 'amd64', cmd: ['server'], env: ['PATH=/usr/bin'] }), ['MISSING_ENTRYPOINT server']);
    assert.deepEqual(codes(files, { architecture: 'amd64' }), [], 'no command: nothing to check');
  });

  it('a script whose #! interpreter is missing, directly or through /usr/bin/env', () => {
    assert.deepEqual(codes([file('/app', { shebang: '/bin/sh' })], amd64()), ['MISSING_INTERPRETER /app']);
    assert.deepEqual(codes([file('/app', { shebang: '/bin/sh' }), dir('/bin'), file('/bin/sh')], amd64()), []);
    const env = [file('/app', { shebang: '/usr/bin/env python3' }), dir('/usr'), dir('/usr/bin'), file('/usr/bin/env')];
    const [missing] = diagnose(env, amd64());
    assert.equal(missing.code, 'MISSING_INTERPRETER');
    assert.match(missing.message, /a script for python3 \(its first line is #!\/usr\/bin\/env python3\)/);
    assert.deepEqual(codes([...env, file('/usr/bin/python3')], amd64()), []);
  });

  it('a binary for another machine than the image: FOREIGN_ARCHITECTURE', () => {
    const [finding] = diagnose([file('/app', { elf: { bits: 64, machine: 183, type: 2 } })], amd64());
    assert.equal(finding.code, 'FOREIGN_ARCHITECTURE');
    assert.match(finding.message, /built for AArch64, but the runtime image is for amd64 \(x86-64\).*exec format error/);
    assert.deepEqual(codes([file('/app', { elf: { bits: 64, machine: 183, type: 2 } })], amd64({ architecture: 'arm64' })), []);
  });
});

describe('what grew', () => {
  it('lists added, removed, grown and shrunk files, the largest change first', () => {
    const before = [
      { path: '/app', size: 1000, mode: 0o755 },
      { path: '/old', size: 50, mode: 0o644 },
      { path: '/same', size: 7, mode: 0o644 },
    ];
    const after = [
      { path: '/app', size: 900, mode: 0o755 },
      { path: '/lib/libfoo.so', size: 3_200_000, mode: 0o644 },
      { path: '/same', size: 7, mode: 0o644 },
    ];
    assert.deepEqual(
      fileChanges(before, after).map((c) => `${c.change} ${c.path} ${c.delta}`),
      ['added /lib/libfoo.so 3200000', 'shrunk /app -100', 'removed /old -50'],
    );
  });

  it('keeps regular files only, largest first, and says when it had to cut the listing', () => {
    const files = [file('/b', { size: 5 }), dir('/d'), file('/a', { size: 9 }), link('/l', '/a')];
    assert.deepEqual(listingOf(files), {
      files: [
        { path: '/a', size: 9, mode: 0o755 },
        { path: '/b', size: 5, mode: 0o755 },
      ],
      truncated: false,
    });
    const many = Array.from({ length: 2001 }, (_, i) => file(`/f${i}`, { size: i }));
    const listing = listingOf(many);
    assert.equal(listing.files.length, 2000);
    assert.equal(listing.truncated, true);
    assert.equal(listing.files[0].size, 2000);
  });
});
