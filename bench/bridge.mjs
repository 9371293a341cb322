// The `bridge` bench section (issue 25): examples/hello-go built as a pair (our CLI) and as its export
// (one multi-stage Dockerfile, a plain `docker build`), cold (--no-cache) and warm (nothing changed), in the
// same run, interleaved repetition by repetition, so users see what they gain or lose by moving. Both
// with the legacy builder (this docker CLI has no buildx; hello-go needs nothing else). Warm for the pair
// is its "up to date" check; for the export, the engine's layer cache answering every step.
//
//   node bench/bridge.mjs [--reps N]           alone (dist/ must be built: npm run build)
//   npm run bench -- bridge                     through scripts/bench.mjs
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const env = { ...process.env, DOCKER_BUILDKIT: '0' };

function timed(command, args) {
  const started = process.hrtime.bigint();
  const run = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`failed (${run.status}): ${command} ${args.join(' ')}\n${run.stderr.slice(-2000)}`);
  return seconds;
}

export async function bridgeSection({ root, reps = 3 }) {
  const cli = path.join(root, 'dist', 'cli.js');
  console.log(`\nbridge: examples/hello-go as a pair and as its exported multi-stage Dockerfile (medians of ${reps}, interleaved, legacy builder)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-bridge-'));
  const pair = path.join(dir, 'dc-bench-bridge-src'); // its builder's tag: dc-bench-bridge-src-builder
  cpSync(path.join(root, 'examples', 'hello-go'), pair, { recursive: true });
  const file = path.join(dir, 'hello-go.Dockerfile');
  const pairTag = 'dc-bench-bridge-pair';
  const exportTag = 'dc-bench-bridge-export';
  const times = { pair: { cold: [], warm: [] }, export: { cold: [], warm: [] } };
  try {
    timed(process.execPath, [cli, 'export', pair, '-o', file, '--builder', 'legacy']);
    for (let rep = 0; rep < reps; rep++) {
      times.pair.cold.push(timed(process.execPath, [cli, 'build', pair, '--tag', pairTag, '--builder', 'legacy', '--no-cache']));
      times.export.cold.push(timed('docker', ['build', '-q', '--no-cache', '-t', exportTag, '-f', file, pair]));
      times.pair.warm.push(timed(process.execPath, [cli, 'build', pair, '--tag', pairTag, '--builder', 'legacy']));
      times.export.warm.push(timed('docker', ['build', '-q', '-t', exportTag, '-f', file, pair]));
    }
  } finally {
    spawnSync('docker', ['rmi', '-f', pairTag, `${pairTag}-builder`, exportTag, 'dc-bench-bridge-src-builder'], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
  const out = {};
  for (const [method, modes] of Object.entries(times)) {
    out[method] = { coldS: round(median(modes.cold)), warmS: round(median(modes.warm)), runs: modes };
  }
  console.log(`  ${'method'.padEnd(28)} ${'cold (s)'.padStart(9)} ${'warm (s)'.padStart(9)}`);
  console.log(`  ${'pair (dockerception build)'.padEnd(28)} ${String(out.pair.coldS).padStart(9)} ${String(out.pair.warmS).padStart(9)}`);
  console.log(`  ${'export (docker build -f)'.padEnd(28)} ${String(out.export.coldS).padStart(9)} ${String(out.export.warmS).padStart(9)}`);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--reps');
  const reps = at > 0 ? Number(process.argv[at + 1]) : 3;
  const result = await bridgeSection({ root: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..'), reps });
  console.log(
    JSON.stringify({ coldS: { pair: result.pair.coldS, export: result.export.coldS }, warmS: { pair: result.pair.warmS, export: result.export.warmS } }),
  );
}
