// The tar gate on its own, fed synthetic builder output (pure: no engine needed).
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DockerceptionError } from '../../src/core/errors';
import { TarGate, normaliseEntryName, unsafeReason } from '../../src/core/tar-gate';
import { makeTar, tarNames, toV7 } from '../support/tar';

interface GateRun {
  output: Buffer;
  error?: DockerceptionError;
  gate: TarGate;
}

/** Streams `input` through a TarGate in chunks of `chunkSize`, collecting what it lets through. */
export async function throughGate(input: Buffer, options: { exitCode?: number; chunkSize?: number; noFallback?: boolean } = {}): Promise<GateRun> {
  const chunkSize = options.chunkSize ?? 4096;
  const chunks: Buffer[] = [];
  for (let at = 0; at < input.length; at += chunkSize) chunks.push(input.subarray(at, at + chunkSize));
  const gate = new TarGate({
    fallbackDockerfile: options.noFallback ? undefined : Buffer.from('FROM scratch\n'),
    fallbackName: 'app/Dockerfile.run',
    listFiles: true,
    exitVerdict: async () => (options.exitCode ? new DockerceptionError('BUILDER_EXIT', `exited ${options.exitCode}`, 'builder-run') : undefined),
  });
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk);
      cb();
    },
  });
  try {
    await pipeline(Readable.from(chunks, { objectMode: false }), gate, sink);
    return { output: Buffer.concat(out), gate };
  } catch (error) {
    assert.ok(error instanceof DockerceptionError, `expected a DockerceptionError, got ${String(error)}`);
    return { output: Buffer.concat(out), error, gate };
  }
}

const dockerfile = { name: 'Dockerfile', content: 'FROM scratch\nCOPY app /app\n' };
const app = { name: 'app', content: Buffer.alloc(3000, 7) };
/** A binary with a long run of zeros in the middle, as ELF files have. */
const sparse = { name: 'sparse.bin', content: Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(20_000), Buffer.alloc(700, 2)]) };

describe('TarGate', () => {
  it('passes a whole tar through byte for byte when it carries its own Dockerfile', async () => {
    const input = await makeTar([dockerfile, app, sparse]);
    for (const chunkSize of [1, 511, 4096, 1 << 20]) {
      const run = await throughGate(input, { chunkSize: chunkSize === 1 ? 97 : chunkSize });
      assert.equal(run.error, undefined);
      assert.ok(run.output.equals(input), `chunk size ${chunkSize}: output differs from input`);
      assert.deepEqual(run.gate.summary, {
        bytes: input.length,
        entries: 3,
        dockerfileSource: 'builder-output',
        dockerfile: Buffer.from(dockerfile.content as string),
      });
    }
  });

  it('adds the pair Dockerfile.run as Dockerfile when the tar has none, before a new end-of-archive', async () => {
    const input = await makeTar([app]);
    const run = await throughGate(input);
    assert.equal(run.error, undefined);
    assert.deepEqual(await tarNames(run.output), ['app', 'Dockerfile']);
    assert.equal(run.gate.summary?.dockerfileSource, 'pair');
    assert.equal(run.gate.summary?.entries, 2);
  });

  it('with no Dockerfile.run and no Dockerfile in the tar: refuses before the end, and writes a Dockerfile.run for that tar', async () => {
    // One executable: it is the ENTRYPOINT.
    const one = await throughGate(
      await makeTar([
        { ...app, mode: 0o755 },
        { name: 'etc/motd', content: 'hi\n' },
      ]),
      { noFallback: true },
    );
    assert.equal(one.error?.code, 'NO_PAIR');
    assert.equal(
      one.error?.message,
      "app/Dockerfile.run is missing and the builder's tar has no Dockerfile, so the runtime image has nothing to build from. The tar holds 2 entries (app, etc/motd). " +
        'Create app/Dockerfile.run (for this tar: FROM scratch; COPY . /; ENTRYPOINT ["/app"]), or have the builder write a Dockerfile into its tar; then build again.',
    );
    assert.equal(
      one.error?.runtimeDockerfile,
      '# The runtime image: its build context is the tar the builder\'s CMD writes to stdout.\nFROM scratch\nCOPY . /\nENTRYPOINT ["/app"]\n',
    );
    // The end of the archive never went out: the engine sees a broken body and builds nothing.
    assert.ok(!(await tarNames(one.output).catch((): string[] => [])).includes('Dockerfile'));
    // Two executables, or none: the candidates are named and the ENTRYPOINT left to the user.
    const two = await throughGate(
      await makeTar([
        { ...app, mode: 0o755 },
        { name: 'tool', content: 'x', mode: 0o700 },
      ]),
      { noFallback: true },
    );
    assert.match(two.error?.runtimeDockerfile ?? '', /\n# Name the program the tar carries \(executables in it: \/app, \/tool\):\n# ENTRYPOINT \["\/app"\]\n$/);
    const none = await throughGate(await makeTar([app]), { noFallback: true });
    assert.match(none.error?.runtimeDockerfile ?? '', /\n# Name the program the tar carries:\n# ENTRYPOINT \["\/app"\]\n$/);
    // A tar that brings its own Dockerfile needs no Dockerfile.run.
    const own = await throughGate(await makeTar([dockerfile, app]), { noFallback: true });
    assert.equal(own.error, undefined);
    assert.equal(own.gate.summary?.dockerfileSource, 'builder-output');
  });

  it('accepts ./-prefixed names (busybox tar) and extra zero padding after the end', async () => {
    const input = Buffer.concat([
      await makeTar([
        { name: './', type: 'directory' },
        { ...dockerfile, name: './Dockerfile' },
      ]),
      Buffer.alloc(9216),
    ]);
    const run = await throughGate(input);
    assert.equal(run.error, undefined);
    assert.equal(run.gate.summary?.dockerfileSource, 'builder-output');
    assert.equal(run.output.length, input.length);
  });

  it('refuses output that is not a tar, or nothing at all', async () => {
    for (const input of [Buffer.from('hello world\n'), Buffer.alloc(0), Buffer.alloc(5000, 'x')]) {
      const run = await throughGate(input);
      assert.equal(run.error?.code, 'NOT_A_TAR', `input of ${input.length} bytes`);
    }
  });

  it('refuses a tar cut in the middle of an entry, and a whole tar without end-of-archive blocks', async () => {
    const whole = await makeTar([dockerfile, app]);
    const cut = await throughGate(whole.subarray(0, 1500));
    assert.equal(cut.error?.code, 'TRUNCATED_TAR');
    assert.match(cut.error?.message ?? '', /middle of an entry/);
    // Dockerfile: 512 header + 512 data; app: 512 header + 3072 data (3000 padded) = 4608 bytes of entries.
    const noEnd = await throughGate(whole.subarray(0, 4608));
    assert.equal(noEnd.error?.code, 'TRUNCATED_TAR');
    assert.match(noEnd.error?.message ?? '', /no end-of-archive marker/);
  });

  it('does not mistake a file full of zeros for the end of the archive', async () => {
    const zeros = { name: 'zeros.bin', content: Buffer.alloc(100_000) };
    const ok = await throughGate(await makeTar([dockerfile, zeros]));
    assert.equal(ok.error, undefined);
    const withoutEnd = (await makeTar([dockerfile, zeros])).subarray(0, 1024 + 512 + 100_352);
    assert.equal((await throughGate(withoutEnd)).error?.code, 'TRUNCATED_TAR');
  });

  it('refuses data after the end of the archive: garbage, text, or a second tar', async () => {
    const whole = await makeTar([dockerfile]);
    const garbage = await throughGate(Buffer.concat([whole, Buffer.alloc(3 * 1024 * 1024, 'garbage ')]));
    assert.equal(garbage.error?.code, 'TRAILING_DATA');
    // The end-of-archive blocks never reached the engine, so it could not build from the first tar.
    assert.ok(garbage.output.length <= whole.length - 1024, `${garbage.output.length} bytes passed`);
    const text = await throughGate(Buffer.concat([whole, Buffer.from('done!\n')]));
    assert.equal(text.error?.code, 'TRAILING_DATA');
    for (const chunkSize of [512, 4096, 1 << 20]) {
      const second = await throughGate(Buffer.concat([whole, await makeTar([app])]), { chunkSize });
      assert.equal(second.error?.code, 'TRAILING_DATA', `chunk size ${chunkSize}`);
      assert.ok(second.output.length <= whole.length - 1024, `chunk size ${chunkSize}: ${second.output.length} bytes passed`);
    }
  });

  it('refuses names and links that climb out of the context', async () => {
    const cases: Array<[string, Parameters<typeof makeTar>[0][number], RegExp]> = [
      ['dotdot', { name: '../escape', content: 'x' }, /climbs out/],
      ['nested dotdot', { name: 'a/../../escape', content: 'x' }, /climbs out/],
      ['hard link out', { name: 'h', type: 'link', linkname: '../../etc/shadow' }, /hard link 'h'/],
      ['symlink out', { name: 'dir/s', type: 'symlink', linkname: '../../x' }, /symlink 'dir\/s'/],
    ];
    for (const [label, entry, message] of cases) {
      const run = await throughGate(await makeTar([dockerfile, entry]));
      assert.equal(run.error?.code, 'UNSAFE_PATH', label);
      assert.match(run.error?.message ?? '', message, label);
    }
  });

  it('accepts what Docker keeps inside the context: absolute names and link targets, links within', async () => {
    // A rootfs as distros ship it: absolute symlinks everywhere, hard links by absolute or relative name.
    const rootfs = await makeTar([
      dockerfile,
      { name: 'bin/busybox', content: Buffer.alloc(2000, 1) },
      { name: 'bin/sh', type: 'symlink', linkname: '/bin/busybox' },
      { name: 'usr/lib/x86_64-linux-gnu/libc.so.6', type: 'symlink', linkname: '/lib/x86_64-linux-gnu/libc.so.6' },
      { name: 'etc/alternatives/awk', type: 'symlink', linkname: '/usr/bin/mawk' },
      { name: 'bin/ash', type: 'link', linkname: '/bin/busybox' },
      { name: 'bin/hush', type: 'link', linkname: 'bin/busybox' },
      { name: 'dir/s', type: 'symlink', linkname: '../bin/busybox' },
      { name: '/abs/file', content: 'x' },
      { name: '/a/../../b', content: 'x' }, // '/' cannot be climbed above: lands at 'b'
    ]);
    const run = await throughGate(rootfs);
    assert.equal(run.error, undefined, run.error?.message);
    assert.ok(run.output.equals(rootfs));
    assert.equal(run.gate.summary?.entries, 10);
  });

  it('reads a v7 (pre-POSIX) tar as the engine does', async () => {
    const input = await makeTar([dockerfile, app]);
    toV7(input, 0);
    toV7(input, 1024);
    const run = await throughGate(input);
    assert.equal(run.error, undefined, run.error?.message);
    assert.equal(run.gate.summary?.dockerfileSource, 'builder-output');
    assert.ok(run.output.equals(input));
  });

  it('decompresses a gzip tar, checks it, and hands on the plain tar', async () => {
    const plain = await makeTar([app]);
    const run = await throughGate(gzipSync(plain), { chunkSize: 100 });
    assert.equal(run.error, undefined, run.error?.message);
    assert.equal(run.gate.summary?.compression, 'gzip');
    assert.deepEqual(await tarNames(run.output), ['app', 'Dockerfile']);
    const bad = await throughGate(gzipSync(await makeTar([dockerfile, { name: '../x', content: 'x' }])));
    assert.equal(bad.error?.code, 'UNSAFE_PATH');
    const cut = gzipSync(await makeTar([dockerfile, { name: 'big', content: Buffer.alloc(200_000, 9) }]));
    assert.equal((await throughGate(cut.subarray(0, cut.length - 40))).error?.code, 'TRUNCATED_TAR');
  });

  it('names bzip2 and xz output and says what to do', async () => {
    for (const [format, head] of [
      ['bzip2', Buffer.from('BZh91AY&SY')],
      ['xz', Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2])],
    ] as const) {
      const run = await throughGate(Buffer.concat([head, Buffer.alloc(3000, 5)]));
      assert.equal(run.error?.code, 'NOT_A_TAR', format);
      assert.match(run.error?.message ?? '', new RegExp(`${format}-compressed[\\s\\S]*gzip`), format);
    }
  });

  it('holds back the end of a file that ends in 9 MiB of zeros, and refuses 10 MiB of zeros as an empty archive', async () => {
    const tail = { name: 'zero-tail.bin', content: Buffer.concat([Buffer.alloc(100, 3), Buffer.alloc(9 * 1024 * 1024)]) };
    const input = await makeTar([dockerfile, tail]);
    let release: (value: undefined) => void = () => undefined;
    const gate = new TarGate({ fallbackDockerfile: Buffer.alloc(0), exitVerdict: () => new Promise((resolve) => (release = resolve)) });
    let seen = 0;
    gate.on('data', (chunk: Buffer) => (seen += chunk.length));
    for (let at = 0; at < input.length; at += 65536) gate.write(input.subarray(at, at + 65536));
    gate.end();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(seen, input.length - 1024, 'everything but the end blocks passes before the verdict');
    release(undefined);
    await new Promise((resolve) => gate.on('end', resolve));
    assert.equal(seen, input.length);

    const zeros = await throughGate(Buffer.alloc(10 * 1024 * 1024), { chunkSize: 65536 });
    assert.equal(zeros.error?.code, 'NOT_A_TAR');
    assert.match(zeros.error?.message ?? '', /empty archive/);
    assert.equal(zeros.output.length, 0);
  });

  it('takes one zero block then the end as the end (as the engine does); a header after a lone zero block is broken', async () => {
    const whole = await makeTar([dockerfile, app]);
    const oneBlock = await throughGate(whole.subarray(0, whole.length - 512));
    assert.equal(oneBlock.error, undefined);
    const gap = Buffer.concat([whole.subarray(0, 1024), Buffer.alloc(512), whole.subarray(1024)]);
    assert.equal((await throughGate(gap)).error?.code, 'NOT_A_TAR');
  });

  it('reports the builder exit verdict over what the output looks like, however long the output', async () => {
    const whole = await makeTar([dockerfile, app]);
    assert.equal((await throughGate(whole, { exitCode: 7 })).error?.code, 'BUILDER_EXIT');
    assert.equal((await throughGate(whole.subarray(0, 1500), { exitCode: 1 })).error?.code, 'BUILDER_EXIT');
    for (const length of [20, 580, 100_000]) {
      const text = Buffer.alloc(length, 'compiler says no\n');
      assert.equal((await throughGate(text, { exitCode: 1 })).error?.code, 'BUILDER_EXIT', `${length} bytes of text`);
      const shown = await throughGate(text);
      assert.equal(shown.error?.code, 'NOT_A_TAR', `${length} bytes of text, exit 0`);
      assert.match(shown.error?.message ?? '', /first bytes are "compiler says no\\n/);
    }
  });

  it('does not stall when a write that only adds held zeros comes while the engine is behind (output over 4 MiB)', async () => {
    const input = await makeTar([dockerfile, { name: 'app', content: Buffer.alloc(5 * 1024 * 1024, 3) }]);
    const gate = new TarGate({ fallbackDockerfile: Buffer.alloc(0), exitVerdict: async () => undefined });
    const ended = new Promise((resolve, reject) => {
      gate.on('end', resolve);
      gate.on('error', reject);
    });
    // The engine asks for data, none is there yet; then all but the end arrives in one go, then the end.
    gate.read(0);
    gate.write(input.subarray(0, input.length - 1024));
    gate.write(input.subarray(input.length - 1024));
    gate.end();
    await new Promise((resolve) => setTimeout(resolve, 20));
    let seen = 0;
    gate.on('data', (chunk: Buffer) => (seen += chunk.length));
    const outcome = await Promise.race([ended.then(() => 'ended'), new Promise((resolve) => setTimeout(() => resolve('stalled'), 3000))]);
    assert.equal(outcome, 'ended');
    assert.equal(seen, input.length);
  });

  it('holds the end of the archive back until the verdict is in', async () => {
    const whole = await makeTar([dockerfile, app]);
    let release: (value: undefined) => void = () => undefined;
    const gate = new TarGate({ fallbackDockerfile: Buffer.alloc(0), exitVerdict: () => new Promise((resolve) => (release = resolve)) });
    let seen = 0;
    gate.on('data', (chunk: Buffer) => (seen += chunk.length));
    gate.end(whole);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(seen <= whole.length - 1024, `passed ${seen} of ${whole.length} bytes before the verdict`);
    release(undefined);
    await new Promise((resolve) => gate.on('end', resolve));
    assert.equal(seen, whole.length);
  });

  it('fails closed when the exit status cannot be read: a failure, never exit 0', async () => {
    const whole = await makeTar([dockerfile, app]);
    for (const [name, exitVerdict] of [
      ['a rejected wait', () => Promise.reject(new Error('socket hang up'))],
      ['a throw', () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'StatusCode')"))],
    ] as const) {
      const gate = new TarGate({ fallbackDockerfile: Buffer.alloc(0), exitVerdict });
      const out: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          out.push(chunk);
          cb();
        },
      });
      const error = await pipeline(Readable.from([whole]), gate, sink).then(
        () => undefined,
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof DockerceptionError, `${name}: the gate must fail, and it ${error ? `threw ${String(error)}` : 'passed the tar on'}`);
      assert.equal(error.code, 'BUILDER_EXIT', name);
      assert.match(error.message, /exit status could not be read \(.+\).*nothing was tagged.*build again/s, name);
      assert.ok(Buffer.concat(out).length <= whole.length - 1024, `${name}: the end of the archive was passed on`);
      assert.equal(gate.summary, undefined, name);
    }
    // A DockerceptionError (a timeout, a cancel) is kept as it is.
    const timeout = new DockerceptionError('TIMEOUT', 'ran too long', 'builder-run');
    const gate = new TarGate({ fallbackDockerfile: Buffer.alloc(0), exitVerdict: () => Promise.reject(timeout) });
    const caught = await pipeline(Readable.from([whole]), gate, new Writable({ write: (_c, _e, cb) => cb() })).catch((e: unknown) => e);
    assert.equal(caught, timeout);
  });
});

describe('entry names', () => {
  it('normalises busybox-style names', () => {
    assert.equal(normaliseEntryName('./a/b'), 'a/b');
    assert.equal(normaliseEntryName('./'), '');
    assert.equal(normaliseEntryName('dir/'), 'dir');
  });
  it('keeps links inside the context', () => {
    assert.equal(normaliseEntryName('/abs/x'), 'abs/x');
    assert.equal(unsafeReason({ name: 'a/b', type: 'symlink', linkname: '../c' }), undefined);
    assert.match(unsafeReason({ name: 'a', type: 'symlink', linkname: '../c' }) ?? '', /outside/);
  });
});

// The gate keeps the root Dockerfile the builder wrote: its images are up-to-date inputs.
describe("TarGate keeps the builder's Dockerfile", () => {
  const dockerfileOf = async (entries: Parameters<typeof makeTar>[0], chunkSize?: number) => {
    const run = await throughGate(await makeTar(entries), { chunkSize });
    assert.equal(run.error, undefined);
    return run.gate.summary?.dockerfile?.toString('utf8');
  };

  it('the root Dockerfile is kept whole, across chunk boundaries of any size', async () => {
    const text = `FROM dc-base:1\n${'# padding line\n'.repeat(700)}COPY app /app\n`;
    for (const chunkSize of [1, 7, 512, 4096, 1 << 20]) {
      assert.equal(
        await dockerfileOf(
          [
            { name: 'app', content: 'x'.repeat(3000) },
            { name: './Dockerfile', content: text },
            { name: 'z', content: 'z' },
          ],
          chunkSize,
        ),
        text,
      );
    }
  });

  it('Dockerfile wins over dockerfile; a later entry of the same name replaces an earlier one', async () => {
    assert.equal(
      await dockerfileOf([
        { name: 'Dockerfile', content: 'FROM a\n' },
        { name: 'dockerfile', content: 'FROM b\n' },
      ]),
      'FROM a\n',
    );
    assert.equal(await dockerfileOf([{ name: 'dockerfile', content: 'FROM b\n' }]), 'FROM b\n');
    assert.equal(
      await dockerfileOf([
        { name: 'Dockerfile', content: 'FROM a\n' },
        { name: 'Dockerfile', content: 'FROM c\n' },
      ]),
      'FROM c\n',
    );
  });

  it('a Dockerfile that is a link, or over 1 MiB, is not kept; a pair Dockerfile.run is not the builder output', async () => {
    assert.equal(
      await dockerfileOf([
        { name: 'real', content: 'FROM a\n' },
        { name: 'Dockerfile', type: 'symlink', linkname: 'real' },
      ]),
      undefined,
    );
    assert.equal(await dockerfileOf([{ name: 'Dockerfile', content: `FROM a\n#${'x'.repeat(1024 * 1024)}\n` }]), undefined);
    assert.equal(
      await dockerfileOf([
        { name: 'Dockerfile', content: 'FROM a\n' },
        { name: 'Dockerfile', type: 'symlink', linkname: 'x' },
      ]),
      undefined,
    );
    const run = await throughGate(await makeTar([{ name: 'app', content: 'x' }]));
    assert.equal(run.gate.summary?.dockerfileSource, 'pair');
    assert.equal(run.gate.summary?.dockerfile, undefined);
  });
});
