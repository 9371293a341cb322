// The doctor against `docker run`: a corpus of runtime images made from real binaries and layouts
// (Debian's static and dynamic binaries from this machine, Node with its 5 MiB .dynstr, a C++ program,
// C programs compiled here with $ORIGIN run paths, RPATH and RUNPATH, scripts, symlink chains, a
// foreign-architecture library). Each image is made on the engine (`docker import` of its root folder,
// with ENTRYPOINT/CMD/ENV/WORKDIR), then run: `docker run` decides
// whether the entrypoint starts (its program prints a marker only when it really runs). The doctor must
// have an error finding exactly for the images whose entrypoint did not start. No verdict is written
// here by hand: the run is the expected value.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { examineImage, type Finding, type FindingCode } from '../../src/core/doctor';
import { ROOT, docker, removeImages, testEngine } from './helpers';

const run = promisify(execFile);
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'doctor');
const LABEL = 'org.dockerception.test=doctor-oracle';
const MARKER = 'STARTED';
const CONCURRENCY = 4;

/** What goes at a path of the image. */
type Source =
  | { host: string; mode?: number } // a file of this machine (its content, through symlinks)
  | { built: string; mode?: number } // a program compiled from test/fixtures/doctor
  | { text: string; mode?: number }
  | { bytes: Buffer; mode?: number }
  | { link: string }
  | { dir: true };

interface Case {
  name: string;
  /** What the case is about, shown when the doctor and docker run disagree. */
  about: string;
  files: Record<string, Source | undefined>;
  /** Files added by a `COPY later/ /` among the lines. */
  later?: Record<string, Source>;
  /** Dockerfile lines for the image: ENTRYPOINT, CMD, ENV, WORKDIR; `RUN ["/sbin/ldconfig"]`, `COPY later/ /` (see makeImage). */
  lines: string[];
  /** Add this machine's Node as /usr/bin/node. */
  node?: boolean;
  /** What the program prints when it runs (default STARTED). */
  marker?: string;
  /** A warning the doctor must give (what may fail later), besides agreeing with the run. */
  warns?: FindingCode;
}

const ARCH_LIB = '/lib/x86_64-linux-gnu';
const HOST_LIB = '/usr/lib/x86_64-linux-gnu';
const LOADER = `${ARCH_LIB}/ld-linux-x86-64.so.2`;
const exe = (built: string): Source => ({ built, mode: 0o755 });
const script = (text: string, mode = 0o755): Source => ({ text, mode });

/** The loader (reached as /lib64/ld-linux-x86-64.so.2, an absolute symlink, as in Debian) and libc, plus these libraries. */
function glibc(...libraries: string[]): Record<string, Source> {
  const files: Record<string, Source> = { '/lib64/ld-linux-x86-64.so.2': { link: LOADER }, [LOADER]: { host: `${HOST_LIB}/ld-linux-x86-64.so.2` } };
  for (const name of ['libc.so.6', ...libraries]) files[`${ARCH_LIB}/${name}`] = { host: `${HOST_LIB}/${name}` };
  return files;
}

/** Debian's merged-/usr layout: /lib, /lib64 and /bin are relative symlinks into /usr, the loader link is relative with `..`. */
function usrMerged(...libraries: string[]): Record<string, Source> {
  const files: Record<string, Source> = {
    '/lib': { link: 'usr/lib' },
    '/lib64': { link: 'usr/lib64' },
    '/bin': { link: 'usr/bin' },
    '/usr/lib64/ld-linux-x86-64.so.2': { link: '../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
    '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2': { host: `${HOST_LIB}/ld-linux-x86-64.so.2` },
  };
  for (const name of ['libc.so.6', ...libraries]) files[`/usr/lib/x86_64-linux-gnu/${name}`] = { host: `${HOST_LIB}/${name}` };
  return files;
}

const busybox = (...applets: string[]): Record<string, Source> =>
  Object.fromEntries([['/bin/busybox', { host: '/bin/busybox' }], ...applets.map((a) => [a, { link: '/bin/busybox' }])]);

/** An ELF file for AArch64: Debian's arm64 libc when libc6-arm64-cross is installed, else a bare ELF header (what the kernel and the loader read to refuse it). */
function aarch64(type: 2 | 3): Source {
  const real = '/usr/aarch64-linux-gnu/lib/libc.so.6';
  if (type === 3 && existsSync(real)) return { host: real };
  const header = Buffer.alloc(64);
  header.write('\x7fELF', 0, 'latin1');
  header[4] = 2;
  header[5] = 1;
  header[6] = 1;
  header.writeUInt16LE(type, 16);
  header.writeUInt16LE(183, 18);
  header.writeUInt32LE(1, 20);
  header.writeUInt16LE(64, 52);
  header.writeUInt16LE(56, 54);
  return { bytes: header, mode: 0o755 };
}

const ENTRY = 'ENTRYPOINT ["/app"]';
const CXX = ['libstdc++.so.6', 'libm.so.6', 'libgcc_s.so.1'];
const NODE_LIBS = ['libdl.so.2', 'libstdc++.so.6', 'libm.so.6', 'libgcc_s.so.1', 'libpthread.so.0'];
const NODE_ENTRY = `ENTRYPOINT ["/usr/bin/node", "-e", "console.log('${MARKER}')"]`;
const LDCONF = {
  '/etc/ld.so.conf': { text: 'include /etc/ld.so.conf.d/*.conf\n' },
  '/etc/ld.so.conf.d/opt.conf': { text: '/opt/lib\n' },
  '/opt/lib/libgreet.so': { built: 'plain/libgreet.so' },
  '/opt/lib/libdep.so': { built: 'libdep.so' },
} satisfies Record<string, Source>;

const CASES: Case[] = [
  // Static binaries.
  { name: 'static-c', about: 'a C program linked with -static', files: { '/app': exe('hello-static') }, lines: [ENTRY] },
  {
    name: 'static-busybox-applet',
    about: "Debian's busybox-static through an applet symlink",
    files: busybox('/bin/echo'),
    lines: [`ENTRYPOINT ["/bin/echo", "${MARKER}"]`],
  },
  {
    name: 'static-pie-ldconfig',
    about: "Debian's ldconfig (static-pie)",
    files: { '/sbin/ldconfig': { host: '/sbin/ldconfig' } },
    lines: ['ENTRYPOINT ["/sbin/ldconfig", "--version"]'],
    marker: 'GLIBC',
  },
  // Debian's dynamic binaries.
  {
    name: 'dynamic-no-loader',
    about: "Debian's /bin/echo on scratch",
    files: { '/bin/echo': { host: '/bin/echo' } },
    lines: [`ENTRYPOINT ["/bin/echo", "${MARKER}"]`],
  },
  {
    name: 'dynamic-complete',
    about: "Debian's /bin/echo with its loader and libc",
    files: { ...glibc(), '/bin/echo': { host: '/bin/echo' } },
    lines: [`ENTRYPOINT ["/bin/echo", "${MARKER}"]`],
  },
  {
    name: 'dynamic-no-libc',
    about: 'the loader but no libc',
    files: { '/lib64/ld-linux-x86-64.so.2': { host: `${HOST_LIB}/ld-linux-x86-64.so.2` }, '/bin/echo': { host: '/bin/echo' } },
    lines: [`ENTRYPOINT ["/bin/echo", "${MARKER}"]`],
  },
  {
    name: 'dynamic-usr-merged',
    about: "Debian's merged /usr: the loader reached through /lib64 -> usr/lib64 and ../lib/…",
    files: { ...usrMerged(), '/usr/bin/echo': { host: '/bin/echo' } },
    lines: [`ENTRYPOINT ["/bin/echo", "${MARKER}"]`],
  },
  { name: 'dynamic-c', about: 'a C program compiled here, with loader and libc', files: { ...glibc(), '/app': exe('hello') }, lines: [ENTRY] },
  {
    name: 'libc-in-usr-local-lib',
    about: 'libc only in /usr/local/lib, which the loader searches only through ld.so.cache',
    files: {
      '/lib64/ld-linux-x86-64.so.2': { host: `${HOST_LIB}/ld-linux-x86-64.so.2` },
      '/usr/local/lib/libc.so.6': { host: `${HOST_LIB}/libc.so.6` },
      '/app': exe('hello'),
    },
    lines: [ENTRY],
  },
  {
    name: 'libc-in-lib64',
    about: "libc only in /lib64, which Debian's loader does not search",
    files: {
      '/lib64/ld-linux-x86-64.so.2': { host: `${HOST_LIB}/ld-linux-x86-64.so.2` },
      '/lib64/libc.so.6': { host: `${HOST_LIB}/libc.so.6` },
      '/app': exe('hello'),
    },
    lines: [ENTRY],
  },
  // Library search: LD_LIBRARY_PATH, ld.so.conf and ld.so.cache.
  {
    name: 'ld-library-path',
    about: "libraries found through the image's LD_LIBRARY_PATH",
    files: { ...glibc(), '/app': exe('greet'), '/opt/lib/libgreet.so': { built: 'plain/libgreet.so' }, '/opt/lib/libdep.so': { built: 'libdep.so' } },
    lines: ['ENV LD_LIBRARY_PATH=/nowhere:/opt/lib', ENTRY],
  },
  {
    name: 'ld-library-path-unset',
    about: 'the same libraries without LD_LIBRARY_PATH',
    files: { ...glibc(), '/app': exe('greet'), '/opt/lib/libgreet.so': { built: 'plain/libgreet.so' }, '/opt/lib/libdep.so': { built: 'libdep.so' } },
    lines: [ENTRY],
  },
  {
    name: 'ld-so-conf-with-ldconfig',
    about: 'an /etc/ld.so.conf.d entry, with ldconfig run (ld.so.cache lists the libraries)',
    files: { ...glibc(), ...LDCONF, '/sbin/ldconfig': { host: '/sbin/ldconfig' }, '/app': exe('greet') },
    lines: ['RUN ["/sbin/ldconfig"]', ENTRY],
  },
  {
    name: 'ld-so-conf-without-ldconfig',
    about: 'an /etc/ld.so.conf.d entry, but no ld.so.cache (ldconfig never ran)',
    files: { ...glibc(), ...LDCONF, '/app': exe('greet') },
    lines: [ENTRY],
  },
  {
    name: 'ld-so-cache-stale',
    about: 'ld.so.cache made before the library it should list was copied in',
    files: { ...glibc(), ...LDCONF, '/sbin/ldconfig': { host: '/sbin/ldconfig' }, '/app': exe('greet'), '/opt/lib/libdep.so': undefined },
    later: { '/opt/lib/libdep.so': { built: 'libdep.so' } },
    lines: ['RUN ["/sbin/ldconfig"]', 'COPY later/ /', ENTRY],
  },
  // Run paths: $ORIGIN, RUNPATH (only the object's own libraries) and RPATH (inherited).
  {
    name: 'origin-runpath',
    about: 'RUNPATH $ORIGIN/../lib, and the library its own RUNPATH $ORIGIN',
    files: {
      ...glibc(),
      '/opt/app/bin/app': exe('greet-runpath'),
      '/opt/app/lib/libgreet.so': { built: 'origin/libgreet.so' },
      '/opt/app/lib/libdep.so': { built: 'libdep.so' },
    },
    lines: ['ENTRYPOINT ["/opt/app/bin/app"]'],
  },
  {
    name: 'origin-runpath-not-inherited',
    about: "RUNPATH $ORIGIN/../lib does not apply to the library's own needs",
    files: {
      ...glibc(),
      '/opt/app/bin/app': exe('greet-runpath'),
      '/opt/app/lib/libgreet.so': { built: 'plain/libgreet.so' },
      '/opt/app/lib/libdep.so': { built: 'libdep.so' },
    },
    lines: ['ENTRYPOINT ["/opt/app/bin/app"]'],
  },
  {
    name: 'origin-rpath-inherited',
    about: "RPATH $ORIGIN/../lib applies to the library's needs too",
    files: {
      ...glibc(),
      '/opt/app/bin/app': exe('greet-rpath'),
      '/opt/app/lib/libgreet.so': { built: 'plain/libgreet.so' },
      '/opt/app/lib/libdep.so': { built: 'libdep.so' },
    },
    lines: ['ENTRYPOINT ["/opt/app/bin/app"]'],
  },
  {
    name: 'origin-through-symlink',
    about: '$ORIGIN of a program started through a symlink whose .. reaches / (found on PATH)',
    files: {
      ...glibc(),
      '/usr/local/bin/app': { link: '../../../opt/app/bin/app' },
      '/opt/app/bin/app': exe('greet-runpath'),
      '/opt/app/lib/libgreet.so': { built: 'origin/libgreet.so' },
      '/opt/app/lib/libdep.so': { built: 'libdep.so' },
    },
    lines: ['CMD ["app"]'],
  },
  {
    name: 'origin-copied-away',
    about: 'the $ORIGIN program copied away from its lib folder',
    files: {
      ...glibc(),
      '/usr/local/bin/app': exe('greet-runpath'),
      '/opt/app/lib/libgreet.so': { built: 'origin/libgreet.so' },
      '/opt/app/lib/libdep.so': { built: 'libdep.so' },
    },
    lines: ['ENTRYPOINT ["/usr/local/bin/app"]'],
  },
  // Foreign architecture.
  {
    name: 'foreign-library-skipped',
    about: 'an AArch64 libgreet.so first on LD_LIBRARY_PATH: the loader skips it and takes the right one',
    files: {
      ...glibc(),
      '/app': exe('greet'),
      '/opt/arm64/libgreet.so': aarch64(3),
      [`${ARCH_LIB}/libgreet.so`]: { built: 'plain/libgreet.so' },
      [`${ARCH_LIB}/libdep.so`]: { built: 'libdep.so' },
    },
    lines: ['ENV LD_LIBRARY_PATH=/opt/arm64', ENTRY],
  },
  {
    name: 'foreign-library-only',
    about: 'the only libgreet.so is for AArch64',
    files: { ...glibc(), '/app': exe('greet'), [`${ARCH_LIB}/libgreet.so`]: aarch64(3), [`${ARCH_LIB}/libdep.so`]: { built: 'libdep.so' } },
    lines: [ENTRY],
  },
  {
    name: 'foreign-library-in-data',
    about: 'an AArch64 .so in a data folder, which nothing loads',
    files: { '/app': exe('hello-static'), '/data/prebuilds/linux-arm64/libc.so.6': aarch64(3) },
    lines: [ENTRY],
  },
  { name: 'foreign-entrypoint', about: 'the entrypoint is an AArch64 executable', files: { '/app': aarch64(2) }, lines: [ENTRY] },
  // What may fail later: warnings, not errors.
  {
    name: 'plugin-missing-library',
    about: 'a plugin nothing loads at start needs a library the image lacks',
    files: { '/app': exe('hello-static'), '/opt/plugins/libplugin.so': { built: 'libplugin.so' } },
    lines: [ENTRY],
    warns: 'MISSING_LIBRARY',
  },
  {
    name: 'other-binary-no-loader',
    about: 'a dynamic binary that is not the entrypoint, without its loader',
    files: { '/app': exe('hello-static'), '/usr/bin/echo': { host: '/bin/echo' } },
    lines: [ENTRY],
    warns: 'MISSING_LOADER',
  },
  // Scripts.
  {
    name: 'script-sh',
    about: 'a #!/bin/sh script, sh from busybox',
    files: { ...busybox('/bin/sh'), '/app': script(`#!/bin/sh\necho ${MARKER}\n`) },
    lines: [ENTRY],
  },
  { name: 'script-no-sh', about: 'a #!/bin/sh script without sh', files: { '/app': script(`#!/bin/sh\necho ${MARKER}\n`) }, lines: [ENTRY] },
  {
    name: 'script-crlf',
    about: 'a script saved with CRLF line ends (#!/bin/sh\\r)',
    files: { ...busybox('/bin/sh'), '/app': script(`#!/bin/sh\r\necho ${MARKER}\r\n`) },
    lines: [ENTRY],
  },
  {
    name: 'script-env-sh',
    about: '#!/usr/bin/env sh',
    files: { ...busybox('/bin/sh', '/usr/bin/env'), '/app': script(`#!/usr/bin/env sh\necho ${MARKER}\n`) },
    lines: [ENTRY],
  },
  {
    name: 'script-env-python',
    about: '#!/usr/bin/env python3 without python3',
    files: { ...busybox('/bin/sh', '/usr/bin/env'), '/app': script(`#!/usr/bin/env python3\nprint("${MARKER}")\n`) },
    lines: [ENTRY],
  },
  {
    name: 'script-env-dynamic',
    about: "#!/usr/bin/env sh where env is Debian's dynamic env without its loader",
    files: { ...busybox('/bin/sh'), '/usr/bin/env': { host: '/usr/bin/env' }, '/app': script(`#!/usr/bin/env sh\necho ${MARKER}\n`) },
    lines: [ENTRY],
  },
  {
    name: 'script-bash',
    about: "#!/bin/bash with Debian's bash and its libraries",
    files: { ...glibc('libtinfo.so.6'), '/bin/bash': { host: '/bin/bash' }, '/app': script(`#!/bin/bash\necho ${MARKER}\n`) },
    lines: [ENTRY],
  },
  {
    name: 'script-bash-no-tinfo',
    about: '#!/bin/bash without libtinfo',
    files: { ...glibc(), '/bin/bash': { host: '/bin/bash' }, '/app': script(`#!/bin/bash\necho ${MARKER}\n`) },
    lines: [ENTRY],
  },
  {
    name: 'script-not-executable',
    about: 'a script with mode 0644',
    files: { ...busybox('/bin/sh'), '/app': script(`#!/bin/sh\necho ${MARKER}\n`, 0o644) },
    lines: [ENTRY],
  },
  {
    name: 'script-nested',
    about: 'a script whose #! interpreter is itself a script',
    files: { ...busybox('/bin/sh'), '/opt/wrap': script(`#!/bin/sh\necho ${MARKER}\n`), '/app': script('#!/opt/wrap\n') },
    lines: [ENTRY],
  },
  { name: 'text-without-shebang', about: 'an executable text file without #!', files: { '/app': script(`echo ${MARKER}\n`) }, lines: [ENTRY] },
  // The entrypoint itself.
  { name: 'no-command', about: 'no ENTRYPOINT and no CMD', files: { '/app': exe('hello-static') }, lines: [] },
  {
    name: 'cmd-on-path',
    about: "CMD found through the image's PATH",
    files: { '/opt/bin/hello': exe('hello-static') },
    lines: ['ENV PATH=/opt/bin', 'CMD ["hello"]'],
  },
  {
    name: 'path-skips-non-executable',
    about: 'PATH lookup passes over a non-executable file of the same name',
    files: { '/a/hello': { built: 'hello-static', mode: 0o644 }, '/b/hello': exe('hello-static') },
    lines: ['ENV PATH=/a:/b', 'CMD ["hello"]'],
  },
  {
    name: 'workdir-relative',
    about: 'ENTRYPOINT ./run under WORKDIR',
    files: { '/srv/run': exe('hello-static') },
    lines: ['WORKDIR /srv', 'ENTRYPOINT ["./run"]'],
  },
  { name: 'entrypoint-directory', about: 'ENTRYPOINT names a directory', files: { '/app': { dir: true }, '/x': exe('hello-static') }, lines: [ENTRY] },
  { name: 'entrypoint-not-executable', about: 'ENTRYPOINT with mode 0644', files: { '/app': { built: 'hello-static', mode: 0o644 } }, lines: [ENTRY] },
  { name: 'entrypoint-missing', about: 'ENTRYPOINT names a file not in the image', files: { '/app': exe('hello-static') }, lines: ['ENTRYPOINT ["/server"]'] },
  // Symlinks.
  {
    name: 'symlink-dangling',
    about: 'the entrypoint is a symlink to nothing',
    files: { '/app': { link: '/opt/nothing' }, '/x': exe('hello-static') },
    lines: [ENTRY],
  },
  { name: 'symlink-loop', about: 'the entrypoint is a symlink loop', files: { '/app': { link: '/app2' }, '/app2': { link: 'app' } }, lines: [ENTRY] },
  {
    name: 'symlink-chain',
    about: 'absolute, then relative through .. to / and through a folder and back',
    files: {
      '/app': { link: '/usr/local/bin/app2' },
      '/usr/local/bin/app2': { link: '../../../opt/x/../hello' },
      '/opt/x': { dir: true },
      '/opt/hello': exe('hello-static'),
    },
    lines: [ENTRY],
  },
  {
    name: 'symlink-above-root',
    about: 'a relative symlink with more .. than folders above it',
    files: { '/bin/app': { link: '../../../../opt/hello' }, '/opt/hello': exe('hello-static') },
    lines: ['ENTRYPOINT ["/bin/app"]'],
  },
  {
    name: 'symlink-through-file',
    about: 'a symlink whose path goes through a regular file',
    files: { '/app': { link: '/opt/hello/x' }, '/opt/hello': exe('hello-static') },
    lines: [ENTRY],
  },
  // C++ and Node: libstdc++, and a .dynstr past the first 256 KiB.
  { name: 'cpp-complete', about: 'a C++ program with libstdc++, libm, libgcc_s', files: { ...glibc(...CXX), '/app': exe('hello-cpp') }, lines: [ENTRY] },
  {
    name: 'cpp-no-libstdcxx',
    about: 'a C++ program without libstdc++',
    files: { ...glibc('libm.so.6', 'libgcc_s.so.1'), '/app': exe('hello-cpp') },
    lines: [ENTRY],
  },
  { name: 'node-complete', about: 'Node with all its libraries', node: true, files: glibc(...NODE_LIBS), lines: [NODE_ENTRY] },
  {
    name: 'node-no-libstdcxx',
    about: 'Node without libstdc++ (its .dynstr starts 2.2 MB into the file)',
    node: true,
    files: glibc(...NODE_LIBS.filter((l) => l !== 'libstdc++.so.6')),
    lines: [NODE_ENTRY],
  },
  {
    name: 'node-libstdcxx-ld-library-path',
    about: "Node's libstdc++ in /opt/cxx, on LD_LIBRARY_PATH",
    node: true,
    files: { ...glibc(...NODE_LIBS.filter((l) => l !== 'libstdc++.so.6')), '/opt/cxx/libstdc++.so.6': { host: `${HOST_LIB}/libstdc++.so.6` } },
    lines: ['ENV LD_LIBRARY_PATH=/opt/cxx', NODE_ENTRY],
  },
  {
    name: 'node-libstdcxx-usr-local-lib',
    about: "Node's libstdc++ in /usr/local/lib with no ld.so.cache",
    node: true,
    files: { ...glibc(...NODE_LIBS.filter((l) => l !== 'libstdc++.so.6')), '/usr/local/lib/libstdc++.so.6': { host: `${HOST_LIB}/libstdc++.so.6` } },
    lines: [NODE_ENTRY],
  },
];

/** Compiles the fixtures with this machine's gcc and g++ into `dir`. */
async function compile(dir: string): Promise<void> {
  const src = (name: string) => path.join(FIXTURES, name);
  const out = (name: string) => path.join(dir, name);
  mkdirSync(out('plain'));
  mkdirSync(out('origin'));
  const gcc = (...args: string[]) => run('gcc', ['-O1', ...args]);
  await Promise.all([
    gcc('-o', out('hello'), src('hello.c')),
    gcc('-static', '-o', out('hello-static'), src('hello.c')),
    run('g++', ['-O1', '-o', out('hello-cpp'), src('hello.cpp')]),
    gcc('-shared', '-fPIC', '-o', out('libdep.so'), src('libdep.c')),
    gcc('-shared', '-fPIC', '-o', out('libmissing.so'), src('libmissing.c')),
  ]);
  await Promise.all([
    gcc('-shared', '-fPIC', '-o', out('plain/libgreet.so'), src('libgreet.c'), `-L${dir}`, '-ldep'),
    gcc('-shared', '-fPIC', '-o', out('origin/libgreet.so'), src('libgreet.c'), `-L${dir}`, '-ldep', '-Wl,--enable-new-dtags,-rpath,$ORIGIN'),
    gcc('-shared', '-fPIC', '-o', out('libplugin.so'), src('libplugin.c'), `-L${dir}`, '-lmissing'),
  ]);
  const greet = (name: string, ...flags: string[]) => gcc('-o', out(name), src('greet.c'), `-L${out('plain')}`, '-lgreet', `-Wl,-rpath-link,${dir}`, ...flags);
  await Promise.all([
    greet('greet'),
    greet('greet-runpath', '-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib'),
    greet('greet-rpath', '-Wl,--disable-new-dtags,-rpath,$ORIGIN/../lib'),
  ]);
}

/**
 * Makes a case's image with the engine: its files laid out as a root folder, `docker import`ed as one
 * layer, the Dockerfile-style lines given as `--change`. Two lines are done the way a build would:
 * `RUN ["/sbin/ldconfig"]` runs this machine's ldconfig (Debian's, static) on the root folder
 * (`ldconfig -r`), and `COPY later/ /` adds the `later` files after it.
 */
async function makeImage(c: Case, built: string, dir: string, tag: string): Promise<void> {
  const rootfs = path.join(dir, 'rootfs');
  mkdirSync(rootfs);
  layout(c.files, built, rootfs);
  if (c.node) {
    // Copied, not hard-linked: a link made by a case running beside this one would change the file's
    // ctime while tar reads it ("file changed as we read it").
    mkdirSync(path.join(rootfs, 'usr', 'bin'), { recursive: true });
    copyFileSync(process.execPath, path.join(rootfs, 'usr', 'bin', 'node'));
  }
  const changes: string[] = [`LABEL ${LABEL}`];
  for (const line of c.lines) {
    if (line === 'RUN ["/sbin/ldconfig"]') await run('/sbin/ldconfig', ['-r', rootfs]);
    else if (line === 'COPY later/ /') layout(c.later ?? {}, built, rootfs);
    else changes.push(line);
  }
  const tar = path.join(dir, 'rootfs.tar');
  await run('tar', ['-C', rootfs, '-cf', tar, '.']);
  await docker('import', ...changes.flatMap((change) => ['--change', change]), tar, tag);
}

function layout(files: Record<string, Source | undefined>, built: string, rootfs: string): void {
  mkdirSync(rootfs, { recursive: true });
  const entries = Object.entries(files).sort(([x], [y]) => x.localeCompare(y));
  for (const [at, source] of entries) {
    if (!source) continue;
    const target = path.join(rootfs, at);
    mkdirSync(path.dirname(target), { recursive: true });
    if ('link' in source) symlinkSync(source.link, target);
    else if ('dir' in source) mkdirSync(target, { recursive: true });
    else {
      if ('host' in source) copyFileSync(source.host, target);
      else if ('built' in source) copyFileSync(path.join(built, source.built), target);
      else writeFileSync(target, 'text' in source ? source.text : source.bytes);
      const mode =
        source.mode ??
        ('host' in source ? statSync(source.host).mode & 0o7777 : 'built' in source ? statSync(path.join(built, source.built)).mode & 0o7777 : 0o644);
      chmodSync(target, mode);
    }
  }
}

const tagOf = (c: Case) => `dc-doctor-oracle-${c.name}`;

interface Verdict {
  c: Case;
  started: boolean;
  output: string;
  findings: Finding[];
  doctorSaysFails: boolean;
}

/** Runs `work` over `items`, `limit` at a time. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]);
      }
    }),
  );
  return results;
}

describe('doctor oracle: docker run decides whether the entrypoint starts; the doctor must agree', () => {
  const work = mkdtempSync(path.join(os.tmpdir(), 'dc-doctor-oracle-'));
  const verdicts = new Map<string, Verdict>();
  const startedAt = Date.now();
  const timings: string[] = [];

  before(async () => {
    const built = path.join(work, 'built');
    mkdirSync(built);
    await compile(built);
    const { docker: engine } = await testEngine();
    await pool(CASES, CONCURRENCY, async (c) => {
      const dir = path.join(work, c.name);
      mkdirSync(dir);
      const t0 = Date.now();
      await makeImage(c, built, dir, tagOf(c));
      const t1 = Date.now();
      const name = `dc-doctor-oracle-run-${c.name}`;
      let output: string;
      try {
        const { stdout, stderr } = await run('docker', ['run', '--rm', '--network', 'none', '--name', name, '--label', LABEL, tagOf(c)], { timeout: 60_000 });
        output = stdout + stderr;
      } catch (error) {
        const failed = error as { stdout?: string; stderr?: string };
        output = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
      }
      if (!/No command specified/.test(output)) await docker('rm', '-f', name).catch(() => undefined);
      const marker = c.marker ?? MARKER;
      const started = output.split('\n').some((line) => line.includes(marker) && !line.includes('docker:'));
      const t2 = Date.now();
      const { findings } = await examineImage(engine, tagOf(c));
      timings.push(`${c.name} build ${t1 - t0} run ${t2 - t1} doctor ${Date.now() - t2}`);
      verdicts.set(c.name, { c, started, output: output.trim(), findings, doctorSaysFails: findings.some((f) => f.severity === 'error') });
    });
  });

  after(async () => {
    const ours = (await docker('ps', '-aq', '--filter', `label=${LABEL}`)).split('\n').filter(Boolean);
    if (ours.length > 0) await docker('rm', '-f', ...ours).catch(() => undefined);
    await removeImages(...CASES.map(tagOf));
    rmSync(work, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(`${c.name}: ${c.about}`, () => {
      const v = verdicts.get(c.name);
      assert.ok(v, `no verdict for ${c.name}: the case was not built and run`);
      const said = v.findings.map((f) => `${f.severity} ${f.code} ${f.path}: ${f.message}`).join('\n') || '(no finding)';
      assert.equal(
        v.doctorSaysFails,
        !v.started,
        `docker run ${v.started ? 'started' : 'did not start'} the entrypoint (output: ${v.output.slice(0, 400) || '(none)'}), ` +
          `but the doctor ${v.doctorSaysFails ? 'has an error' : 'has no error'}:\n${said}`,
      );
      if (c.warns)
        assert.ok(
          v.findings.some((f) => f.code === c.warns && f.severity === 'warning'),
          `expected a ${c.warns} warning:\n${said}`,
        );
    });
  }

  it('covers both outcomes, and prints how many cases agree', (t) => {
    const all = [...verdicts.values()];
    const agreed = all.filter((v) => v.doctorSaysFails === !v.started).length;
    const started = all.filter((v) => v.started).length;
    t.diagnostic(`doctor oracle: ${all.length} images, docker run agrees with the doctor on ${agreed} (${started} started, ${all.length - started} did not)`);
    t.diagnostic(`doctor oracle: ${Math.round((Date.now() - startedAt) / 1000)} s`);
    if (process.env.DOCTOR_ORACLE_TIMINGS) for (const line of timings) t.diagnostic(line);
    console.log(`doctor oracle: ${all.length} images, docker run agrees with the doctor on ${agreed}`);
    assert.equal(all.length, CASES.length);
    assert.ok(CASES.length >= 40, `${CASES.length} cases`);
    assert.ok(started >= 15 && all.length - started >= 15, `both outcomes well represented: ${started} started, ${all.length - started} did not`);
  });
});
