// Seeded random tars through the gate, against tar-stream's extract as the reference reader (pure: no
// engine). For every tar: whole (with random padding) it passes byte for byte with the reference's
// entry count; cut anywhere before its end, followed by data, or with a byte flipped in a header, it is
// refused or passed unchanged; and before the verdict nothing from its end on has gone through.
// FUZZ_SEEDS=N runs more (default 1000).
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { DockerceptionError } from '../../src/core/errors';
import { TarGate } from '../../src/core/tar-gate';
import { makeTar, tarNames, type TarEntrySpec } from '../support/tar';

const SEEDS = Number(process.env.FUZZ_SEEDS ?? 1000);

/** mulberry32: a small seeded generator, so a failing seed can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomEntries(rand: () => number): TarEntrySpec[] {
  const int = (n: number) => Math.floor(rand() * n);
  const entries: TarEntrySpec[] = [];
  const count = 1 + int(8);
  for (let i = 0; i < count; i++) {
    const name = `${rand() < 0.15 ? `${'deep/'.repeat(25)}` : ''}e${i}${rand() < 0.3 ? '/x.bin' : ''}`;
    const kind = rand();
    if (kind < 0.1) entries.push({ name: `${name}.d`, type: 'directory' });
    else if (kind < 0.2) entries.push({ name: `${name}.l`, type: 'symlink', linkname: rand() < 0.5 ? '/bin/busybox' : 'e0' });
    else {
      const size = int(3) === 0 ? int(40) : int(6000);
      const content = Buffer.alloc(size);
      // Mostly zeros with islands of data: end-of-archive look-alikes inside file data.
      for (let at = 0; at < size; at += 1 + int(2048)) if (rand() < 0.5) content[at] = 1 + int(255);
      entries.push({ name, content });
    }
  }
  if (rand() < 0.5) entries.splice(int(entries.length), 0, { name: 'Dockerfile', content: 'FROM scratch\n' });
  return entries;
}

interface Run {
  error?: DockerceptionError;
  output: Buffer;
  /** Bytes passed on before the verdict was given. */
  beforeVerdict: number;
  entries?: number;
}

async function gate(input: Buffer, chunkSize: number): Promise<Run> {
  let verdictGiven = false;
  let beforeVerdict = 0;
  const out: Buffer[] = [];
  const g = new TarGate({
    fallbackDockerfile: Buffer.from('FROM scratch\n'),
    exitVerdict: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      verdictGiven = true;
      return undefined;
    },
  });
  g.on('data', (chunk: Buffer) => {
    out.push(chunk);
    if (!verdictGiven) beforeVerdict += chunk.length;
  });
  const chunks: Buffer[] = [];
  for (let at = 0; at < input.length; at += chunkSize) chunks.push(input.subarray(at, at + chunkSize));
  try {
    await new Promise<void>((resolve, reject) => {
      g.on('end', resolve);
      g.on('error', reject);
      Readable.from(chunks).pipe(g);
    });
    return { output: Buffer.concat(out), beforeVerdict, entries: g.summary?.entries };
  } catch (error) {
    assert.ok(error instanceof DockerceptionError, String(error));
    return { error, output: Buffer.concat(out), beforeVerdict };
  }
}

describe(`tar gate against a reference reader, ${SEEDS} seeded tars`, () => {
  it('passes whole tars, refuses cut, trailing and corrupted ones, and never lets the end through early', async () => {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const rand = random(seed);
      const int = (n: number) => Math.floor(rand() * n);
      const entries = randomEntries(rand);
      const archive = await makeTar(entries);
      const eoa = archive.length - 1024;
      const chunkSize = 1 + int(rand() < 0.3 ? 600 : 9000);
      const label = `seed ${seed} (chunk ${chunkSize})`;

      const padded = Buffer.concat([archive, Buffer.alloc([0, 512, 9216][int(3)])]);
      const whole = await gate(padded, chunkSize);
      assert.equal(whole.error, undefined, `${label}: ${whole.error?.message}`);
      assert.ok(whole.beforeVerdict <= eoa, `${label}: ${whole.beforeVerdict} bytes before the verdict, end at ${eoa}`);
      const hasDockerfile = entries.some((e) => e.name === 'Dockerfile');
      if (hasDockerfile) assert.ok(whole.output.equals(padded), `${label}: output differs`);
      else assert.ok(whole.output.subarray(0, eoa).equals(archive.subarray(0, eoa)), `${label}: output differs before the added Dockerfile`);
      assert.equal(whole.entries, (await tarNames(archive)).length + (hasDockerfile ? 0 : 1), label);

      const cutAt = int(eoa + 512);
      const cut = await gate(archive.subarray(0, cutAt), chunkSize);
      assert.ok(cut.error && ['TRUNCATED_TAR', 'NOT_A_TAR'].includes(cut.error.code), `${label}: cut at ${cutAt}: ${cut.error?.code ?? 'accepted'}`);
      assert.ok(cut.output.length <= eoa, `${label}: cut at ${cutAt}`);

      const junk = Buffer.from(`log line ${seed}\n`);
      const trailing = await gate(Buffer.concat([archive, Buffer.alloc(int(3) * 512), junk]), chunkSize);
      assert.equal(trailing.error?.code, 'TRAILING_DATA', label);
      assert.ok(trailing.output.length <= eoa, `${label}: trailing`);

      const flipped = Buffer.from(padded);
      const headerAt = 512 * int(Math.max(1, eoa / 512));
      flipped[headerAt + int(512)] ^= 1 << int(8);
      const corrupt = await gate(flipped, chunkSize);
      if (!corrupt.error && hasDockerfile) assert.ok(corrupt.output.equals(flipped), `${label}: a corrupted tar that passes must pass unchanged`);
    }
  });
});
