// The tar checks on their own, fed synthetic builder output (pure logic: no engine needed).
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import * as tar from 'tar-stream';
import { DockerceptionError, TarGate, normaliseEntryName, unsafeReason } from '../../src/core';
import { makeTar } from './helpers';

interface GateRun {
  output: Buffer;
  error?: DockerceptionError;
  gate: TarGate;
}

/** Streams `input` through a TarGate in chunks of `chunkSize`, collecting what it lets through. */
async function throughGate(input: Buffer, options: { exitCode?: number; chunkSize?: number } = {}): Promise<GateRun> {
  const chunkSize = options.chunkSize ?? 4096;
  const chunks: Buffer[] = [];
  for (let at = 0; at < input.length; at += chunkSize) chunks.push(input.subarray(at, at + chunkSize));
  const gate = new TarGate({
    fallbackDockerfile: Buffer.from('FROM scratch\n'),
    exitVerdict: async () =>
      options.exitCode ? new DockerceptionError('BUILDER_EXIT', `exited ${options.exitCode}`, 'builder-run') : undefined,
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

async function namesIn(archive: Buffer): Promise<string[]> {
  const extract = tar.extract();
  const names: string[] = [];
  extract.on('entry', (header, stream, next) => {
    names.push(header.name);
    stream.on('end', () => next());
    stream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(archive);
  });
  return names;
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
      assert.deepEqual(run.gate.summary, { bytes: input.length, entries: 3, dockerfileSource: 'builder-output' });
    }
  });

  it('adds the pair Dockerfile.run as Dockerfile when the tar has none, before a new end-of-archive', async () => {
    const input = await makeTar([app]);
    const run = await throughGate(input);
    assert.equal(run.error, undefined);
    assert.deepEqual(await namesIn(run.output), ['app', 'Dockerfile']);
    assert.equal(run.gate.summary?.dockerfileSource, 'pair');
    assert.equal(run.gate.summary?.entries, 2);
  });

  it('accepts ./-prefixed names (busybox tar) and extra zero padding after the end', async () => {
    const input = Buffer.concat([await makeTar([{ name: './', type: 'directory' }, { ...dockerfile, name: './Dockerfile' }]), Buffer.alloc(9216)]);
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

  it('refuses absolute and .. names and links that leave the context', async () => {
    const cases: Array<[string, Parameters<typeof makeTar>[0][number]]> = [
      ['absolute', { name: '/etc/passwd', content: 'x' }],
      ['dotdot', { name: '../escape', content: 'x' }],
      ['nested dotdot', { name: 'a/../../escape', content: 'x' }],
      ['hard link out', { name: 'h', type: 'link', linkname: '../../etc/shadow' }],
      ['symlink out', { name: 'dir/s', type: 'symlink', linkname: '../../x' }],
      ['absolute symlink', { name: 's', type: 'symlink', linkname: '/etc/passwd' }],
    ];
    for (const [label, entry] of cases) {
      const run = await throughGate(await makeTar([dockerfile, entry]));
      assert.equal(run.error?.code, 'UNSAFE_PATH', label);
    }
    const inside = await throughGate(await makeTar([dockerfile, app, { name: 'dir/s', type: 'symlink', linkname: '../app' }]));
    assert.equal(inside.error, undefined);
  });

  it('reports the builder exit verdict over what the output looks like', async () => {
    const whole = await makeTar([dockerfile, app]);
    assert.equal((await throughGate(whole, { exitCode: 7 })).error?.code, 'BUILDER_EXIT');
    assert.equal((await throughGate(whole.subarray(0, 1500), { exitCode: 1 })).error?.code, 'BUILDER_EXIT');
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
});

describe('entry names', () => {
  it('normalises busybox-style names', () => {
    assert.equal(normaliseEntryName('./a/b'), 'a/b');
    assert.equal(normaliseEntryName('./'), '');
    assert.equal(normaliseEntryName('dir/'), 'dir');
  });
  it('keeps links inside the context', () => {
    assert.equal(unsafeReason({ name: 'a/b', type: 'symlink', linkname: '../c' } as tar.Header), undefined);
    assert.match(unsafeReason({ name: 'a', type: 'symlink', linkname: '../c' } as tar.Header) ?? '', /outside/);
  });
});
