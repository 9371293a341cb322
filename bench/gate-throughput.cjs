// The tar gate alone, in process: a 1 GiB tar (one file of random bytes) and a tar given as argv[2]
// (the 20 000-entry tree), fed in 64 KiB chunks as the attach stream delivers them, to a sink that
// discards. Prints one JSON line: MiB and median seconds of each. Run by scripts/bench.mjs.
const { randomBytes } = require('node:crypto');
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { Readable, Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const { TarGate } = require(path.join(__dirname, '..', 'out', 'src', 'core', 'tar-gate.js'));

const reps = Number(process.env.BENCH_REPS ?? 5);
const CHUNK = 64 * 1024;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function through(chunks) {
  const gate = new TarGate({ fallbackDockerfile: Buffer.from('FROM scratch\n'), exitVerdict: async () => undefined });
  let bytes = 0;
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      bytes += chunk.length;
      callback();
    },
  });
  const started = process.hrtime.bigint();
  await pipeline(Readable.from(chunks()), gate, sink);
  if (!gate.summary || bytes === 0) throw new Error('the gate passed nothing');
  return Number(process.hrtime.bigint() - started) / 1e9;
}

function header(name, size) {
  const block = Buffer.alloc(512);
  block.write(name);
  block.write('0000644\0', 100);
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  block.write('00000000000\0', 136);
  block.write('0', 156);
  block.write('ustar\u000000', 257, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

const GIB = 1 << 30;
const random = randomBytes(4 << 20);
function* big() {
  yield header('big.bin', GIB);
  for (let at = 0; at < GIB; at += CHUNK) yield random.subarray(at % random.length, (at % random.length) + CHUNK);
  yield Buffer.alloc(1024);
}
const tree = readFileSync(process.argv[2]);
function* treeChunks() {
  for (let at = 0; at < tree.length; at += CHUNK) yield tree.subarray(at, at + CHUNK);
}

(async () => {
  const bigRuns = [];
  const treeRuns = [];
  for (let i = 0; i < reps; i++) {
    bigRuns.push(await through(big));
    treeRuns.push(await through(treeChunks));
  }
  console.log(JSON.stringify({ bigMiB: (GIB + 1536) / 2 ** 20, bigSeconds: median(bigRuns), treeMiB: tree.length / 2 ** 20, treeSeconds: median(treeRuns) }));
})();
