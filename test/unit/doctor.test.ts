// The doctor's parts, pure (no engine): ELF facts from streamed bytes (this machine's own binaries and
// crafted headers), path resolution through symlinks, each finding, and the file diff behind "what grew".
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { describe, it } from 'node:test';
import { diagnose, ElfCapture, fileChanges, FileTree, listingOf, type ElfInfo, type ImageConfig, type ImageFile } from '../../src/core/doctor';
import { parseLdCache } from '../../src/core/doctor/loader';

/** Feeds a file through ElfCapture in chunks of `size` bytes, as a tar stream would. */
function captured(bytes: Buffer, size: number, loader = false): ElfInfo | undefined {
  const capture = new ElfCapture(loader);
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

const file = (path: string, extra: Partial<ImageFile> = {}): ImageFile => ({
  path,
  type: 'file',
  size: 10,
  mode: 0o755,
  ...(extra.shebang !== undefined ? { format: 'script' as const } : extra.elf ? { format: 'elf' as const } : {}),
  ...extra,
});
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

  it("reads Node's libraries, whose .dynstr starts 2.2 MB into the file, at any chunk size (as readelf -d lists them)", () => {
    const node = realpathSync(process.execPath);
    const bytes = readFileSync(node);
    const expected = [...execFileSync('readelf', ['-d', node], { encoding: 'utf8' }).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
    assert.ok(expected.includes('libstdc++.so.6'), expected.join(' '));
    for (const size of [65_536, 4096]) assert.deepEqual(captured(bytes, size)?.needed, expected, `chunks of ${size}`);
  });

  it("reads libc's loader (its PT_INTERP lies past the first 256 KiB), and the loader's default folders as it prints them", () => {
    const libc = readFileSync('/lib/x86_64-linux-gnu/libc.so.6');
    assert.equal(captured(libc, 65_536)?.interpreter, '/lib64/ld-linux-x86-64.so.2');
    const loader = '/lib64/ld-linux-x86-64.so.2';
    const printed = [...execFileSync(loader, ['--help'], { encoding: 'utf8' }).matchAll(/^\s+(\S+) \(system search path\)$/gm)].map((m) => m[1]);
    assert.ok(printed.length >= 2, 'ld.so --help lists its system search path');
    assert.deepEqual(captured(readFileSync(loader), 65_536, true)?.systemDirs, printed);
  });

  it('reads ld.so.cache as ldconfig -p lists it', () => {
    const cache = parseLdCache(readFileSync('/etc/ld.so.cache'));
    const listed = [...execFileSync('/sbin/ldconfig', ['-p'], { encoding: 'utf8' }).matchAll(/^\s+(\S+) \([^)]*\)(?: OS ABI: [^=]*)? => (\S+)$/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    assert.ok(listed.length > 10, `${listed.length} libraries listed`);
    const ours = [...(cache?.entries() ?? [])].flatMap(([name, paths]) => paths.map((p) => `${name} ${p}`));
    assert.deepEqual(ours.sort(), listed.sort());
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

  it('follows a relative symlink whose .. reaches / (and goes no higher), physically, and not through a file', () => {
    const tree = new FileTree([
      dir('/usr'),
      dir('/usr/local'),
      dir('/usr/local/bin'),
      link('/usr/local/bin/app', '../../../opt/app/bin/app'),
      link('/usr/local/bin/deep', '../../../../../../opt/app/bin/app'),
      dir('/opt'),
      dir('/opt/app'),
      dir('/opt/app/bin'),
      file('/opt/app/bin/app'),
      link('/opt/current', 'app/bin'),
      link('/through', '/opt/app/bin/app/x'),
    ]);
    assert.deepEqual(tree.locate('/usr/local/bin/app')?.path, '/opt/app/bin/app');
    assert.deepEqual(tree.locate('/usr/local/bin/deep')?.path, '/opt/app/bin/app');
    // .. after a symlink is the parent of where the link led: /opt/app, not /opt.
    assert.deepEqual(tree.locate('/opt/current/../bin/app')?.path, '/opt/app/bin/app');
    assert.equal(tree.resolve('/through'), undefined);
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

  it('with the loader but not a library: MISSING_LIBRARY, an error; with both (through a /lib64 symlink), nothing', () => {
    const base = [
      file('/app', { elf: dynamic }),
      dir('/lib'),
      dir('/lib/x86_64-linux-gnu'),
      file('/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'),
      link('/lib64', 'lib/x86_64-linux-gnu'),
    ];
    assert.deepEqual(
      diagnose(base, amd64()).map((f) => `${f.severity} ${f.code} ${f.path}`),
      ['error MISSING_LIBRARY /app'],
    );
    const libc = file('/lib/x86_64-linux-gnu/libc.so.6', { elf: { bits: 64, machine: 62, type: 3, soname: 'libc.so.6', needed: [] } });
    assert.deepEqual(codes([...base, libc], amd64()), []);
    const withRunPath: ElfInfo = { ...dynamic, needed: ['libfoo.so'], runpath: ['/opt/foo'] };
    const libfoo = file('/opt/foo/libfoo.so', { elf: { bits: 64, machine: 62, type: 3, needed: [] } });
    assert.deepEqual(codes([...base.slice(1), file('/app', { elf: withRunPath }), dir('/opt'), dir('/opt/foo'), libfoo], amd64()), []);
  });

  it('a static binary of the image architecture: nothing', () => {
    assert.deepEqual(codes([file('/app', { elf: { bits: 64, machine: 62, type: 2 } })], amd64()), []);
  });

  it('ENTRYPOINT missing, not executable, or a directory', () => {
    assert.deepEqual(codes([file('/other')], amd64()), ['MISSING_ENTRYPOINT /app']);
    const [notExecutable] = diagnose([file('/app', { mode: 0o644 })], amd64());
    assert.equal(notExecutable.code, 'NOT_EXECUTABLE');
    assert.match(notExecutable.message, /not executable \(mode 0644\), so docker run fails with "permission denied"\. Make it executable/);
    assert.deepEqual(codes([dir('/app')], amd64()), ['NOT_EXECUTABLE /app']);
  });

  it('finds CMD through the image PATH and WORKDIR when there is no ENTRYPOINT', () => {
    const files = [dir('/bin'), file('/bin/server'), dir('/srv'), file('/srv/run')];
    assert.deepEqual(codes(files, { architecture: 'amd64', cmd: ['server'] }), []);
    assert.deepEqual(codes(files, { architecture: 'amd64', cmd: ['./run'], workingDir: '/srv' }), []);
    assert.deepEqual(codes(files, { architecture: 'amd64', cmd: ['server'], env: ['PATH=/usr/bin'] }), ['MISSING_ENTRYPOINT server']);
    const [none] = diagnose(files, { architecture: 'amd64' });
    assert.equal(none.code, 'MISSING_ENTRYPOINT');
    assert.match(none.message, /no ENTRYPOINT and no CMD, so docker run fails with "No command specified"/);
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

describe('doctor findings: libraries as the loader searches for them', () => {
  const lib = (path: string, extra: Partial<ElfInfo> = {}) => file(path, { mode: 0o644, elf: { bits: 64, machine: 62, type: 3, needed: [], ...extra } });
  const loader: ImageFile[] = [
    dir('/lib64'),
    file('/lib64/ld-linux-x86-64.so.2', {
      elf: {
        bits: 64,
        machine: 62,
        type: 3,
        soname: 'ld-linux-x86-64.so.2',
        systemDirs: ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib', '/usr/lib'],
      },
    }),
    lib('/lib/x86_64-linux-gnu/libc.so.6', { soname: 'libc.so.6' }),
  ];
  const program = (needed: string[], extra: Partial<ElfInfo> = {}): ElfInfo => ({ ...dynamic, needed: [...needed, 'libc.so.6'], ...extra });
  const errors = (files: ImageFile[], config: ImageConfig) =>
    diagnose(files, config)
      .filter((f) => f.severity === 'error')
      .map((f) => `${f.code} ${f.path}`);

  it("finds libraries through the image's LD_LIBRARY_PATH (and only with it)", () => {
    const files = [...loader, file('/app', { elf: program(['libgreet.so']) }), lib('/opt/lib/libgreet.so')];
    assert.deepEqual(errors(files, amd64()), ['MISSING_LIBRARY /app']);
    assert.deepEqual(errors(files, amd64({ env: ['PATH=/bin', 'LD_LIBRARY_PATH=/nowhere:/opt/lib'] })), []);
  });

  it('expands $ORIGIN from the real path of a program started through a symlink', () => {
    const files = [
      ...loader,
      link('/usr/local/bin/app', '../../../opt/app/bin/app'),
      file('/opt/app/bin/app', { elf: program(['libgreet.so'], { runpath: ['$ORIGIN/../lib'] }) }),
      lib('/opt/app/lib/libgreet.so'),
    ];
    assert.deepEqual(errors(files, amd64({ entrypoint: ['/usr/local/bin/app'] })), []);
    const copied = [...loader, file('/usr/local/bin/app', { elf: program(['libgreet.so'], { runpath: ['$ORIGIN/../lib'] }) }), lib('/opt/app/lib/libgreet.so')];
    assert.deepEqual(errors(copied, amd64({ entrypoint: ['/usr/local/bin/app'] })), ['MISSING_LIBRARY /usr/local/bin/app']);
  });

  it("RPATH serves the libraries' own needs; RUNPATH only the object's", () => {
    const libs = [lib('/opt/lib/libgreet.so', { needed: ['libdep.so'] }), lib('/opt/lib/libdep.so')];
    assert.deepEqual(errors([...loader, file('/app', { elf: program(['libgreet.so'], { rpath: ['/opt/lib'] }) }), ...libs], amd64()), []);
    assert.deepEqual(errors([...loader, file('/app', { elf: program(['libgreet.so'], { runpath: ['/opt/lib'] }) }), ...libs], amd64()), [
      'MISSING_LIBRARY /opt/lib/libgreet.so',
    ]);
  });

  it('takes what /etc/ld.so.cache lists; a folder only ld.so.conf names is not searched, and the message says to run ldconfig', () => {
    const cache = Buffer.alloc(48 + 24 + 64);
    cache.write('glibc-ld.so.cache1.1', 0, 'latin1');
    cache.writeUInt32LE(1, 20);
    cache.writeInt32LE(0x303, 48);
    cache.writeUInt32LE(72, 52);
    cache.writeUInt32LE(72 + 12, 56);
    cache.write('libgreet.so\0/opt/lib/libgreet.so\0', 72, 'latin1');
    const conf = [
      file('/etc/ld.so.conf', { mode: 0o644, content: Buffer.from('include /etc/ld.so.conf.d/*.conf\n') }),
      file('/etc/ld.so.conf.d/opt.conf', { mode: 0o644, content: Buffer.from('/opt/lib\n') }),
    ];
    const files = [...loader, ...conf, file('/app', { elf: program(['libgreet.so']) }), lib('/opt/lib/libgreet.so')];
    const [missing] = diagnose(files, amd64());
    assert.equal(missing.code, 'MISSING_LIBRARY');
    assert.match(missing.message, /It is in \/opt\/lib, which \/etc\/ld\.so\.conf\.d\/opt\.conf names, but \/etc\/ld\.so\.cache is not there: .*run ldconfig/);
    assert.deepEqual(errors([...files, file('/etc/ld.so.cache', { mode: 0o644, content: cache })], amd64()), []);
  });

  it('passes over a library of another machine; one that nothing loads is no finding; a plugin missing a library is a warning', () => {
    const arm = (path: string) => file(path, { elf: { bits: 64, machine: 183, type: 3, needed: [] } });
    const app = file('/app', { elf: program(['libgreet.so']) });
    assert.deepEqual(errors([...loader, app, arm('/lib/x86_64-linux-gnu/libgreet.so')], amd64()), ['MISSING_LIBRARY /app']);
    assert.match(
      diagnose([...loader, app, arm('/lib/x86_64-linux-gnu/libgreet.so')], amd64())[0].message,
      /Passed over for another machine: \/lib\/x86_64-linux-gnu\/libgreet\.so \(AArch64/,
    );
    assert.deepEqual(
      errors([...loader, app, arm('/opt/arm/libgreet.so'), lib('/lib/x86_64-linux-gnu/libgreet.so')], amd64({ env: ['LD_LIBRARY_PATH=/opt/arm'] })),
      [],
    );
    const staticApp = file('/app', { elf: { bits: 64, machine: 62, type: 2 } });
    assert.deepEqual(diagnose([staticApp, arm('/data/prebuilds/linux-arm64/addon.node')], amd64()), []);
    assert.deepEqual(
      diagnose([staticApp, lib('/opt/plugins/libplugin.so', { needed: ['libmissing.so'] })], amd64()).map((f) => `${f.severity} ${f.code} ${f.path}`),
      ['warning MISSING_LIBRARY /opt/plugins/libplugin.so'],
    );
  });
});

describe("doctor findings: how the program is found and exec'd", () => {
  it('PATH lookup passes over a file that is not executable', () => {
    const files = [dir('/a'), file('/a/hello', { mode: 0o644 }), dir('/b'), file('/b/hello', { elf: { bits: 64, machine: 62, type: 2 } })];
    assert.deepEqual(codes(files, { architecture: 'amd64', cmd: ['hello'], env: ['PATH=/a:/b'] }), []);
  });

  it('a script saved with CRLF: its interpreter is "/bin/sh\\r", which is not there', () => {
    const [finding] = diagnose([file('/app', { shebang: '/bin/sh\r' }), dir('/bin'), file('/bin/sh', { elf: { bits: 64, machine: 62, type: 2 } })], amd64());
    assert.equal(finding.code, 'MISSING_INTERPRETER');
    assert.match(finding.message, /CRLF line ends/);
  });

  it('an executable that is neither ELF nor #! script: NOT_A_PROGRAM', () => {
    assert.deepEqual(codes([file('/app', { format: 'other' })], amd64()), ['NOT_A_PROGRAM /app']);
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
