// The `small` bench section (issue 22): the fixed cost Dockerception adds to a small rebuild, against the
// seed's one-liner (`docker build -q … && docker run --rm … | docker build -q -t … -`) in the same run.
//
// Two pairs: a busybox pair whose builder copies one source file (a #! script) into its tar, and a C pair
// whose builder compiles a generated C file with gcc:12 (about a second). Both builders put the runtime
// Dockerfile into their tar, so the seed's one-liner builds them as they are. Methods, interleaved
// repetition by repetition: the seed one-liner (legacy: this docker CLI has no buildx), our CLI (node
// dist/cli.js build) under the legacy builder and BuildKit, and buildPair in one long-lived Node process
// under both. Modes: "one source changed" (a comment appended before each build) and "nothing changed".
// For the in-process builds, each step's time is taken from the pipeline's phase events.
//
//   node bench/small.mjs [--core out-NAME] [--reps N] [--json FILE] [--before DIR]
//                                              alone (the core compiled to out-NAME/); --before: also the
//                                              CLI and core of another tree (built there), interleaved
//   npm run bench -- small                                 through scripts/bench.mjs
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const env = { ...process.env, DOCKER_BUILDKIT: '0' };

function sh(command) {
  const started = process.hrtime.bigint();
  const run = spawnSync('bash', ['-o', 'pipefail', '-c', command], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`failed (${run.status}): ${command}\n${run.stderr.slice(-2000)}`);
  return seconds;
}

/** A C file that takes gcc about a second: FUNCTIONS functions of arithmetic, no randomness (nothing to seed). */
function generatedC(functions) {
  const parts = ['#include <stdio.h>', ''];
  for (let i = 0; i < functions; i++) {
    parts.push(
      `static long f${i}(long x) { long s = ${i}; for (int k = 0; k < 8; k++) { s = s * 31 + (x ^ ${i * 7 + 1}) / (k + 1); if (s % 3 == ${i % 3}) s += f${Math.max(0, i - 1)}_helper(k); } return s; }`,
    );
  }
  // Each function calls a helper so the optimiser keeps them all.
  const helpers = Array.from({ length: functions }, (_, i) => `static long f${i}_helper(int k) { return k * ${i + 3}; }`);
  parts.splice(2, 0, ...helpers);
  parts.push('int main(void) {', '  long t = 0;');
  for (let i = 0; i < functions; i++) parts.push(`  t += f${i}(${i});`);
  parts.push('  printf("%ld\\n", t);', '  return 0;', '}', '');
  return parts.join('\n');
}

/** The two pairs, in a fresh folder. */
function makePairs(dir, cFunctions) {
  const bb = path.join(dir, 'small-busybox');
  mkdirSync(bb);
  writeFileSync(
    path.join(bb, 'Dockerfile'),
    'FROM busybox:1.36\nCOPY Dockerfile.run /out/Dockerfile\nCOPY app.sh /out/app.sh\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n',
  );
  writeFileSync(path.join(bb, 'Dockerfile.run'), 'FROM busybox:1.36\nCOPY app.sh /app/app.sh\nENTRYPOINT ["/app/app.sh"]\n');
  writeFileSync(path.join(bb, 'app.sh'), '#!/bin/sh\necho "hello from a small pair"\n');
  chmodSync(path.join(bb, 'app.sh'), 0o755);
  const c = path.join(dir, 'small-c');
  mkdirSync(c);
  writeFileSync(
    path.join(c, 'Dockerfile'),
    'FROM gcc:12\nWORKDIR /src\nCOPY Dockerfile.run /out/Dockerfile\nCOPY hello.c .\nRUN gcc -static -O2 -o /out/hello hello.c\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n',
  );
  writeFileSync(path.join(c, 'Dockerfile.run'), 'FROM scratch\nCOPY hello /hello\nENTRYPOINT ["/hello"]\n');
  writeFileSync(path.join(c, 'hello.c'), generatedC(cFunctions));
  return {
    busybox: { dir: bb, source: path.join(bb, 'app.sh'), comment: (s) => `# ${s}\n` },
    c: { dir: c, source: path.join(c, 'hello.c'), comment: (s) => `/* ${s} */\n` },
  };
}

/** A long-lived Node process with the compiled core: builds a pair on each request, with each step's time. */
export function inProcessWorker(coreIndex) {
  const doctorIndex = path.join(path.dirname(coreIndex), 'doctor', 'index.js');
  const script = `
const c = require(${JSON.stringify(coreIndex)});
const rl = require('readline').createInterface({ input: process.stdin });
const enginePromise = c.connectEngine();
// The doctor's check alone, on the common path: the builder's tar (a file) read through a TarGate as a
// build reads it, then examineBuilt on the runtime image built from it, again and again (base listing
// in memory after the first): wall and CPU milliseconds of each check.
async function checkAlone({ tarFile, image, dockerfile, base, times }) {
  try {
    const e = await enginePromise;
    const d = require(${JSON.stringify(doctorIndex)});
    const gate = new c.TarGate({ fallbackDockerfile: Buffer.from(dockerfile), exitVerdict: async () => undefined, listFiles: true });
    gate.resume();
    await new Promise((resolve, reject) => { gate.on('end', resolve); gate.on('error', reject); require('fs').createReadStream(tarFile).pipe(gate); });
    const engineId = await c.engineIdOf(e.docker);
    const images = { [base]: (await e.docker.getImage(base).inspect()).Id };
    const cacheDir = require('path').join(c.recordsDir(), 'doctor-bases');
    const wall = [], cpu = [];
    let path;
    for (let i = 0; i < times; i++) {
      const t = process.hrtime.bigint(), u = process.cpuUsage();
      const exam = await d.examineBuilt(e.docker, { id: image, dockerfile, context: gate.listing, images, cacheDir, engineId });
      const used = process.cpuUsage(u);
      wall.push(Number(process.hrtime.bigint() - t) / 1e6); cpu.push((used.user + used.system) / 1000);
      path = exam.path + (exam.why ? ': ' + exam.why : '');
    }
    process.stdout.write(JSON.stringify({ wall, cpu, path }) + '\\n');
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: String(error && error.message || error) }) + '\\n');
  }
}
rl.on('line', async (line) => {
  const { dir, tag, builder, doctorCheck } = JSON.parse(line);
  if (doctorCheck) return checkAlone(doctorCheck);
  try {
    const e = await enginePromise;
    const p = await c.pairAt(dir);
    const steps = [];
    let phase = 'start', at = process.hrtime.bigint();
    const started = at;
    let doctorPath;
    const onEvent = (ev) => {
      if (ev.type === 'phase' && ev.message.startsWith('Doctor:')) steps.push(["doctor check (part of doctor)", Number(process.hrtime.bigint() - at) / 1e6]);
      if (ev.type === 'phase' && ev.message.startsWith('Doctor:')) doctorPath = /no export/.test(ev.message) ? 'listing' : ev.message.replace(/^.*by exporting it/, 'export');
      if (ev.type !== 'phase' || ev.phase === phase) return;
      const now = process.hrtime.bigint();
      steps.push([phase, Number(now - at) / 1e6]);
      phase = ev.phase; at = now;
    };
    const r = await c.buildPair(e, p, { tag, builder, onEvent });
    const end = process.hrtime.bigint();
    steps.push([phase + ' (to the end)', Number(end - at) / 1e6]);
    process.stdout.write(JSON.stringify({ seconds: Number(end - started) / 1e9, steps, upToDate: r.upToDate, doctorPath }) + '\\n');
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: String(error && error.message || error) }) + '\\n');
  }
});`;
  const child = spawn('node', ['-e', script], { env, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const waiting = [];
  lines.on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  return {
    build(request) {
      return new Promise((resolve, reject) => {
        waiting.push((answer) => (answer.error ? reject(new Error(answer.error)) : resolve(answer)));
        child.stdin.write(`${JSON.stringify(request)}\n`);
      });
    },
    close() {
      child.stdin.end();
    },
  };
}

/** Each step's median over the in-process builds of one row, in ms. */
function stepMedians(answers) {
  const names = [];
  const byName = new Map();
  for (const answer of answers) {
    const seen = new Map();
    for (const [name, ms] of answer.steps) seen.set(name, (seen.get(name) ?? 0) + ms);
    for (const [name, ms] of seen) {
      if (!byName.has(name)) {
        names.push(name);
        byName.set(name, []);
      }
      byName.get(name).push(ms);
    }
  }
  return Object.fromEntries(names.map((name) => [name, round(median(byName.get(name)), 1)]));
}

export async function smallSection({ root, reps = 5, core = 'out', before }) {
  const cli = path.join(root, 'dist', 'cli.js');
  const cFunctions = Number(process.env.BENCH_C_FUNCTIONS ?? 400);
  console.log(
    `\nsmall: the fixed cost of a small rebuild against the seed one-liner (medians of ${reps}, interleaved; C pair: ${cFunctions} generated functions, no randomness)`,
  );
  const sectionStarted = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-small-'));
  const pairs = makePairs(dir, cFunctions);
  const worker = inProcessWorker(path.join(root, core, 'src', 'core', 'index.js'));
  // --before DIR: the same methods from another tree (the code before a change), interleaved in this run.
  const beforeWorker = before ? inProcessWorker(path.join(before, core, 'src', 'core', 'index.js')) : undefined;
  const tags = [];
  const out = {};
  try {
    // BENCH_SMALL_PAIRS=busybox: only these pairs.
    const only = (process.env.BENCH_SMALL_PAIRS ?? 'busybox,c').split(',');
    for (const [pairName, pair] of Object.entries(pairs).filter(([name]) => only.includes(name))) {
      const tag = (m) => {
        const t = `dc-bench-small-${pairName}-${m}`;
        tags.push(t, `${t}-builder`);
        return t;
      };
      const methods = {
        'seed one-liner': () =>
          sh(
            `cd ${q(pair.dir)} && docker build -q -t ${tag('seed')}-builder . >/dev/null && docker run --rm ${tag('seed')}-builder | docker build -q -t ${tag('seed')} - >/dev/null`,
          ),
        'dockerception CLI (legacy)': () => sh(`node ${q(cli)} build ${q(pair.dir)} --tag ${tag('cli-legacy')} --builder legacy >/dev/null 2>&1`),
        'dockerception CLI (BuildKit)': () => sh(`node ${q(cli)} build ${q(pair.dir)} --tag ${tag('cli-buildkit')} --builder buildkit >/dev/null 2>&1`),
        'in-process (legacy)': async () => worker.build({ dir: pair.dir, tag: tag('inproc-legacy'), builder: 'legacy' }),
        'in-process (BuildKit)': async () => worker.build({ dir: pair.dir, tag: tag('inproc-buildkit'), builder: 'buildkit' }),
      };
      if (before && beforeWorker) {
        const beforeCli = path.join(before, 'dist', 'cli.js');
        Object.assign(methods, {
          'before: CLI (legacy)': () => sh(`node ${q(beforeCli)} build ${q(pair.dir)} --tag ${tag('b-cli-legacy')} --builder legacy >/dev/null 2>&1`),
          'before: CLI (BuildKit)': () => sh(`node ${q(beforeCli)} build ${q(pair.dir)} --tag ${tag('b-cli-buildkit')} --builder buildkit >/dev/null 2>&1`),
          'before: in-process (legacy)': async () => beforeWorker.build({ dir: pair.dir, tag: tag('b-inproc-legacy'), builder: 'legacy' }),
          'before: in-process (BuildKit)': async () => beforeWorker.build({ dir: pair.dir, tag: tag('b-inproc-buildkit'), builder: 'buildkit' }),
        });
      }
      // Warm every method once: base layers, the builder images' cache, the records.
      for (const run of Object.values(methods)) await run();
      out[pairName] = {};
      for (const mode of ['change', 'nothing']) {
        const title = mode === 'change' ? 'one source changed' : 'nothing changed';
        console.log(` ${pairName} pair, ${title}`);
        // Every method once more first: each finds the sources as it last built them (or as changed now).
        if (mode === 'nothing') for (const run of Object.values(methods)) await run();
        const times = Object.fromEntries(Object.keys(methods).map((m) => [m, []]));
        const answers = Object.fromEntries(Object.keys(methods).map((m) => [m, []]));
        for (let i = 0; i < reps; i++) {
          for (const [label, run] of Object.entries(methods)) {
            if (mode === 'change') appendFileSync(pair.source, pair.comment(`${label} ${i} ${Date.now()}`));
            const answer = await run();
            if (typeof answer === 'number') times[label].push(answer);
            else {
              times[label].push(answer.seconds);
              answers[label].push(answer);
            }
          }
        }
        const seed = median(times['seed one-liner']);
        out[pairName][mode] = Object.entries(times).map(([label, runs]) => {
          const row = {
            label,
            median: round(median(runs)),
            min: round(Math.min(...runs)),
            max: round(Math.max(...runs)),
            ratioToSeed: round(median(runs) / seed, 2),
          };
          if (answers[label].length > 0) {
            row.steps = stepMedians(answers[label]);
            const paths = [...new Set(answers[label].map((a) => a.doctorPath).filter(Boolean))];
            if (paths.length > 0) row.doctorPath = paths.join(', ');
          }
          console.log(
            `  ${label.padEnd(30)} median ${row.median.toFixed(3)} s  ×seed ${row.ratioToSeed.toFixed(2)}  (min ${row.min.toFixed(3)}, max ${row.max.toFixed(3)})`,
          );
          if (row.steps)
            console.log(
              `    steps (ms): ${Object.entries(row.steps)
                .map(([k, v]) => `${k} ${v}`)
                .join(' | ')}${row.doctorPath ? `; doctor: ${row.doctorPath}` : ''}`,
            );
          return row;
        });
      }
    }
    out.doctorCheck = await doctorCheckAlone(worker, pairs.busybox.dir, dir);
    out.startup = startup(root, cli);
  } finally {
    worker.close();
    beforeWorker?.close();
    spawnSync('docker', ['rmi', '-f', ...new Set(tags)], { stdio: 'ignore' });
    removeDanglingSince(sectionStarted);
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/** The doctor's check of the busybox pair's runtime image, alone, 20 times in one process. */
export async function doctorCheckAlone(worker, pairDir, dir) {
  const tag = 'dc-bench-small-busybox-inproc-legacy';
  const tarFile = path.join(dir, 'busybox-output.tar');
  sh(`docker run --rm --network none ${tag}-builder > ${q(tarFile)}`);
  const dockerfile = (await import('node:fs')).readFileSync(path.join(pairDir, 'Dockerfile.run'), 'utf8');
  const answer = await worker.build({ doctorCheck: { tarFile, image: tag, dockerfile, base: 'busybox:1.36', times: 20 } });
  const row = {
    wallMs: round(median(answer.wall.slice(1)), 1),
    cpuMs: round(median(answer.cpu.slice(1)), 1),
    firstMs: round(answer.wall[0], 1),
    path: answer.path,
  };
  console.log(
    `  the doctor's check alone (busybox pair's runtime image, 19 runs after the first): median ${row.wallMs} ms wall, ${row.cpuMs} ms CPU; first ${row.firstMs} ms; ${row.path}`,
  );
  return row;
}

/** Images this section left dangling (a rebuilt tag's old image), and nothing older: twice, since a
 * parent goes only after its children. */
function removeDanglingSince(since) {
  for (let pass = 0; pass < 2; pass++) {
    const listed = spawnSync('docker', ['images', '--filter', 'dangling=true', '--format', '{{.ID}} {{.CreatedAt}}'], { encoding: 'utf8' }).stdout ?? '';
    const ids = listed
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '))
      .filter(([, day, time, zone]) => Date.parse(`${day}T${time}${zone.replace(/(\d\d)(\d\d)$/, '$1:$2')}`) >= since - 1000)
      .map(([id]) => id);
    if (ids.length > 0) spawnSync('docker', ['rmi', '-f', ...ids], { stdio: 'ignore' });
  }
}

/** Node's start and the bundle's load, to the CLI's first request (medians). */
function startup(root, cli) {
  const times = (command, n = 7) => round(median(Array.from({ length: n }, () => sh(command))));
  const row = {
    nodeAlone: times('node -e 0'),
    cliHelp: times(`node ${q(cli)} --help >/dev/null`),
  };
  // The first request: the time from Node's start to the CLI's first byte to the engine, via an
  // unreachable engine address (it fails at once there).
  row.cliToFirstRequest = times(`DOCKER_HOST=unix:///nonexistent.sock node ${q(cli)} engine >/dev/null 2>&1 || true`);
  console.log(
    `  start-up: node -e 0 ${row.nodeAlone.toFixed(3)} s; node dist/cli.js --help ${row.cliHelp.toFixed(3)} s; to the first request (engine, no socket) ${row.cliToFirstRequest.toFixed(3)} s`,
  );
  return row;
}

// Alone: node bench/small.mjs [--core out-NAME] [--reps N]
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, fallback) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : fallback;
  };
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const started = Math.floor(Date.now() / 1000);
  const result = await smallSection({
    root,
    reps: Number(arg('--reps', process.env.BENCH_REPS ?? 5)),
    core: arg('--core', 'out'),
    before: arg('--before', undefined),
  });
  const file = arg('--json', undefined);
  if (file) writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  // The BuildKit builds' records this run made.
  spawnSync('node', [path.join(root, 'scripts', 'prune-build-cache.cjs'), String(started)], { stdio: 'inherit' });
}
