// The pull-size estimate's compression (ParallelGzipSize): 1 MiB blocks deflated at once, each primed with the
// 32 KiB before it. Its blocks must form one valid deflate stream of the input (inflated here), and its size
// must be a single zlib stream's within 1% (block boundaries move zlib's block choices either way: up to 0.44% in 20 seeds here; the estimate's budget against the registry is 2%). Pure: a
// generated corpus with a printed seed (DC_ESTIMATE_SEED=N replays one).
import * as assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { ENGINE_PUSH_GZIP_LEVEL, ParallelGzipSize } from '../../src/core/ship';

/** xorshift32: the corpus from a seed. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

/** Layer-like bytes: runs of text that repeats across block boundaries, random (incompressible) spans, zeros. */
function layerLike(size: number, next: () => number): Buffer {
  const out = Buffer.alloc(size);
  const words = Array.from({ length: 64 }, (_, i) => `/usr/lib/x86_64-linux-gnu/lib${i.toString(36)}.so.${i % 7} `);
  let at = 0;
  while (at < size) {
    const kind = next();
    const span = Math.min(size - at, 1 + Math.floor(next() * 200_000));
    if (kind < 0.5) {
      let text = '';
      while (text.length < span) text += words[Math.floor(next() * words.length)];
      out.write(text.slice(0, span), at, 'latin1');
    } else if (kind < 0.8) {
      for (let i = 0; i < span; i++) out[at + i] = Math.floor(next() * 256);
    } // else zeros
    at += span;
  }
  return out;
}

async function parallelSize(data: Buffer, chunk: number): Promise<{ bytes: number; blocks: Buffer[] }> {
  const blocks: Buffer[] = [];
  const counter = new ParallelGzipSize(ENGINE_PUSH_GZIP_LEVEL, blocks);
  const pieces = function* () {
    for (let at = 0; at < data.length; at += chunk) yield data.subarray(at, at + chunk);
  };
  await pipeline(Readable.from(pieces()), counter);
  return { bytes: counter.bytes, blocks };
}

describe('ship: the estimate compresses in parallel blocks', () => {
  it('forms one deflate stream of the input, within 1% of a single zlib stream', async () => {
    const seed = Number(process.env.DC_ESTIMATE_SEED ?? Date.now() % 0x7fffffff);
    console.log(`# estimate corpus seed ${seed} (DC_ESTIMATE_SEED=${seed} replays it)`);
    const next = random(seed);
    const MiB = 1024 * 1024;
    const sizes = [0, 1, 4096, MiB - 1, MiB, MiB + 1, 2 * MiB + 12345, Math.floor(3.5 * MiB), 6 * MiB];
    const rows: string[] = [];
    for (const size of sizes) {
      const data = layerLike(size, next);
      // Written in pieces that do not line up with the blocks, as a tar entry's stream arrives.
      const { bytes, blocks } = await parallelSize(data, 16_384 + Math.floor(next() * 70_000));
      assert.ok(zlib.inflateRawSync(Buffer.concat(blocks)).equals(data), `size ${size}: the blocks inflate to the input`);
      const single = zlib.gzipSync(data, { level: ENGINE_PUSH_GZIP_LEVEL }).length;
      const error = (bytes - single) / single;
      rows.push(`${size} B: parallel ${bytes} B, one stream ${single} B, ${(error * 100).toFixed(4)}%`);
      assert.ok(Math.abs(error) <= 0.01, `seed ${seed}: ${rows.at(-1)}`);
    }
    console.log(rows.map((row) => `# ${row}`).join('\n'));
  });
});
