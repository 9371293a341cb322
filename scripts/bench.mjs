#!/usr/bin/env node
// Benchmarks, printed and written to bench/results/ (JSON + Markdown). Numbers, never assertions.
//
//   npm run bench                 all sections, 5 repetitions each
//   BENCH_REPS=3 npm run bench    fewer repetitions
//   npm run bench -- pipeline big discovery activation   only these sections
//   BENCH_MODES=warm,change npm run bench -- pipeline     only these modes of the pipeline section
//   npm run bench -- --render                      latest.md again from latest.json
//
// 1. pipeline: examples/hello-go through our CLI and in process, under the legacy builder and BuildKit,
//    against the seed's one-liner, the seed's temp-dir script and an equivalent multi-stage Dockerfile
//    (legacy through the docker CLI, BuildKit through the API), on the same engine: warm (no change),
//    only the runtime Dockerfile changed, one source file changed, and cold (no cache).
// 2. big: a builder that emits a 1 GiB tar, through our CLI against a raw `docker run | docker build -`
//    pipe: wall time, throughput, and peak RSS of our process against an idle CLI.
// 3. discovery: `dockerception list` on a generated 20 000-file workspace.
// 4. activation: the extension's activation time inside code-server (Running Extensions' figure and Startup
//    Performance's Load Code / Call Activate / Finish Activate), bundle and .vsix sizes (when built).
// 5. gate: the tar gate alone, in process, on a 1 GiB tar and on a 20 000-entry binary-heavy tree (MiB/s).
// 6. tree: that 20 000-entry tree end to end through our CLI against the raw `docker run | docker build -` pipe.
// 7. startup: where a no-change CLI build's time goes (Node, the bundle with and without V8's code cache).
// 8. network: the builder run with no network (the default) and with the engine's default network.
// 9. scale: the Pairs view on a 20 000-file, 200-pair workspace in code-server (file search vs walk).
// 10. engines: `dockerception engine` and an up-to-date build of a tiny pair over the machine's unix
//     socket, over ssh:// (sshd on loopback) and over TLS (a dockerd of the bench's own), as root.
// 11. buildall: Build All of 20 pairs against a shell loop of the seed and docker-compose; 200 up to date.
// 13. manyimages: with 500 more (tiny, distinct) images on the engine: the whole `GET /system/df` against
//     the build cache alone (what BuildKit builds list), and a forced BuildKit build of a tiny pair, in one
//     process; then the 500 images are removed.
// 12. doctor: the doctor alone, in process (examineImage: one streamed export and the checks) on busybox
//     and on a runtime image of Node with its libraries (a 99 MB binary whose .dynstr lies past 256 KiB).
// 14. ship: push of the hello-go runtime by the core (a node process) against `docker push` of the same
//     image to the same kind of registry (Debian's docker-registry on loopback, a fresh one per push so every
//     layer is sent), and the pull-size estimate against `docker save IMAGE | gzip -6 | wc -c`; beside each,
//     its floor (bench/ship-floor.cjs: a bare node process doing only the engine's part) and the CLI's own load.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { smallSection } from '../bench/small.mjs';
import { bridgeSection } from '../bench/bridge.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'dist', 'cli.js');
const reps = Number(process.env.BENCH_REPS ?? 5);
// The bench uses the compiled core (out/) for in-process numbers and the bundled CLI (dist/).
execFileSync('npm', ['run', '--silent', 'compile-tests'], { cwd: root, stdio: 'inherit' });
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
// --render: measure nothing, write latest.md again from latest.json.
const sections = process.argv.includes('--render')
  ? []
  : wanted.length > 0
    ? wanted
    : ['startup', 'network', 'engines', 'pipeline', 'big', 'gate', 'tree', 'discovery', 'activation', 'scale', 'buildall', 'doctor', 'manyimages', 'ship'];
const results = { date: new Date().toISOString(), machine: { cpus: os.cpus().length, memGiB: Math.round(os.totalmem() / 2 ** 30) }, reps, sections: {} };
const env = { ...process.env, DOCKER_BUILDKIT: '0' };

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** CPU seconds so far: the whole machine's busy time (/proc/stat), and dockerd's own (with its waited children). */
function cpuNow() {
  try {
    const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const busy = ticks.reduce((a, b) => a + b, 0) - ticks[3] - (ticks[4] ?? 0);
    const pid = spawnSync('pgrep', ['-o', '-x', 'dockerd'], { encoding: 'utf8' }).stdout.trim();
    const f = pid ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ') : [];
    const dockerd = f.length ? Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]) : NaN;
    return { machine: busy / 100, dockerd: dockerd / 100 };
  } catch {
    return undefined;
  }
}

/** Runs a shell command, returns wall seconds, (with GNU time) the peak RSS of the top process in KiB and,
 * with measureCpu, the CPU seconds the machine and dockerd spent meanwhile. */
function timed(command, { measureRss = false, measureCpu = false } = {}) {
  const cpuBefore = measureCpu ? cpuNow() : undefined;
  const args = measureRss ? ['-f', '%M', 'bash', '-o', 'pipefail', '-c', command] : ['-o', 'pipefail', '-c', command];
  const started = process.hrtime.bigint();
  const run = spawnSync(measureRss ? '/usr/bin/time' : 'bash', args, { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.status !== 0) throw new Error(`failed (${run.status}): ${command}\n${run.stderr.slice(-2000)}`);
  const rssKiB = measureRss ? Number(run.stderr.trim().split('\n').pop()) : undefined;
  const cpuAfter = cpuBefore ? cpuNow() : undefined;
  const cpu = cpuBefore && cpuAfter ? { machine: cpuAfter.machine - cpuBefore.machine, dockerd: cpuAfter.dockerd - cpuBefore.dockerd } : undefined;
  return { seconds, rssKiB, cpu };
}

function series(label, command, options = {}) {
  const runs = [];
  for (let i = 0; i < (options.reps ?? reps); i++) runs.push(timed(typeof command === 'function' ? command(i) : command, options));
  const seconds = runs.map((r) => r.seconds);
  const row = {
    label,
    median: round(median(seconds), 3),
    min: round(Math.min(...seconds), 3),
    max: round(Math.max(...seconds), 3),
    runs: seconds.map((s) => round(s, 3)),
  };
  if (options.measureRss) row.peakRssMiB = round(Math.max(...runs.map((r) => r.rssKiB)) / 1024, 1);
  if (options.measureCpu && runs.every((r) => r.cpu)) {
    row.cpuMachineS = round(median(runs.map((r) => r.cpu.machine)), 1);
    row.cpuDockerdS = round(median(runs.map((r) => r.cpu.dockerd)), 1);
  }
  console.log(
    `  ${label.padEnd(44)} median ${row.median.toFixed(3)} s  (min ${row.min.toFixed(3)}, max ${row.max.toFixed(3)})${row.peakRssMiB ? `  peak RSS ${row.peakRssMiB} MiB` : ''}${row.cpuMachineS !== undefined ? `  CPU: machine ${row.cpuMachineS} s, dockerd ${row.cpuDockerdS} s` : ''}`,
  );
  return row;
}

const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;
const rmi = (...refs) => spawnSync('docker', ['rmi', '-f', ...refs], { stdio: 'ignore' });

/** Runs `body` in a fresh Node process with the compiled core as `c` and a connected engine as `e`;
 * the body prints one JSON value, which is returned. */
function inProcess(body) {
  const script = `const fs=require('fs');const c=require(${JSON.stringify(path.join(root, 'out/src/core/index.js'))});(async()=>{const e=await c.connectEngine();${body}})()`;
  return JSON.parse(execFileSync('node', ['-e', script], { encoding: 'utf8', env }));
}

function pipelineSection() {
  console.log('\n1. pipeline on examples/hello-go (same engine, same pair), under both builders');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-'));
  const pair = path.join(dir, 'hello-go');
  cpSync(path.join(root, 'examples', 'hello-go'), pair, { recursive: true });
  // The multi-stage equivalent: the builder's steps, then the runtime's, in one Dockerfile, in a folder of its own.
  const ms = path.join(dir, 'multistage');
  mkdirSync(ms);
  for (const f of ['go.mod', 'main.go']) cpSync(path.join(pair, f), path.join(ms, f));
  writeFileSync(
    path.join(ms, 'Dockerfile'),
    `ARG GO_IMAGE=golang:1.19\nFROM \${GO_IMAGE} AS build\nWORKDIR /src\nCOPY go.mod main.go ./\nRUN mkdir -p /out && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/app .\n\nFROM scratch\nCOPY --from=build /out/app /app\nEXPOSE 8001\nENTRYPOINT ["/app"]\n`,
  );
  const seedScript = (nc) =>
    `set -e; cd ${q(pair)}; B=$(mktemp -d /tmp/dockerception-bench.XXXXXX); docker build -q ${nc} -t bseed2-builder . >/dev/null; docker run --rm bseed2-builder > $B/ctx.tar; tar -C $B -xf $B/ctx.tar; docker build -q ${nc} -t bseed2 $B >/dev/null; rm -r $B`;
  const methods = {
    'dockerception CLI (legacy)': {
      dir: pair,
      runtimeFile: 'Dockerfile.run',
      run: (nc) => `node ${q(cli)} build ${q(pair)} --tag bdc --builder legacy ${nc} >/dev/null 2>&1`,
    },
    'dockerception CLI (BuildKit)': {
      dir: pair,
      runtimeFile: 'Dockerfile.run',
      run: (nc) => `node ${q(cli)} build ${q(pair)} --tag bdck --builder buildkit ${nc} >/dev/null 2>&1`,
    },
    'seed one-liner': {
      dir: pair,
      runtimeFile: 'Dockerfile.run',
      run: (nc) =>
        `cd ${q(pair)} && docker build -q ${nc} -t bseed-builder . >/dev/null && docker run --rm bseed-builder | docker build -q ${nc} -t bseed - >/dev/null`,
    },
    'seed temp-dir script': { dir: pair, runtimeFile: 'Dockerfile.run', run: seedScript },
    'multi-stage (legacy, docker CLI)': { dir: ms, runtimeFile: 'Dockerfile', run: (nc) => `docker build -q ${nc} -t bms ${q(ms)} >/dev/null` },
    'multi-stage (BuildKit, API)': {
      dir: ms,
      runtimeFile: 'Dockerfile',
      run: (nc) => `node ${q(path.join(root, 'bench', 'buildkit-build.cjs'))} ${q(ms)} bmsk ${nc}`,
    },
  };
  // The same pipeline in one long-lived process, as the extension runs it: no Node start-up per build.
  const inProcessRuns = (builder, mode) =>
    inProcess(
      `const p=await c.pairAt(${JSON.stringify(pair)});const o={tag:'bdc-${builder}',builder:'${builder}'};await c.buildPair(e,p,o);const t=[];for(let i=0;i<${reps};i++){if(${mode === 'change'})fs.appendFileSync(${JSON.stringify(path.join(pair, 'main.go'))},'// in-process ${builder} '+i+' '+Date.now()+'\\n');if(${mode === 'runfile'})fs.appendFileSync(${JSON.stringify(path.join(pair, 'Dockerfile.run'))},'LABEL bench.run=${builder}-'+i+'-'+Date.now()+'\\n');const s=process.hrtime.bigint();await c.buildPair(e,p,{...o,noCache:${mode === 'cold'}});t.push(Number(process.hrtime.bigint()-s)/1e9)}console.log(JSON.stringify(t))`,
    );
  const modes = {
    warm: 'warm (no change; cache primed once first)',
    runfile: 'only the runtime Dockerfile changed before each build (a LABEL added to Dockerfile.run / the final stage)',
    change: 'one source file changed before each build (go build re-runs)',
    cold: 'cold (--no-cache: everything re-runs)',
  };
  const out = {};
  const wantedModes = (process.env.BENCH_MODES ?? Object.keys(modes).join(',')).split(',');
  for (const [mode, title] of Object.entries(modes).filter(([m]) => wantedModes.includes(m))) {
    console.log(` ${title}`);
    out[mode] = [];
    for (const [label, method] of Object.entries(methods)) {
      if (mode === 'warm') timed(method.run(''));
      const change = (i) => `echo '// ${label} ${i} '$(date +%s%N) >> ${q(path.join(method.dir, 'main.go'))} && `;
      const runfile = (i) => `echo 'LABEL bench.run=${i}-'$(date +%s%N) >> ${q(path.join(method.dir, method.runtimeFile))} && `;
      const before = mode === 'change' ? change : mode === 'runfile' ? runfile : () => '';
      out[mode].push(series(label, (i) => `${before(i)}${method.run(mode === 'cold' ? '--no-cache' : '')}`));
    }
    for (const builder of ['legacy', 'buildkit']) {
      const runs = inProcessRuns(builder, mode);
      const row = {
        label: `dockerception in-process (${builder === 'legacy' ? 'legacy' : 'BuildKit'})`,
        median: round(median(runs)),
        min: round(Math.min(...runs)),
        max: round(Math.max(...runs)),
        runs: runs.map((s) => round(s)),
      };
      console.log(`  ${row.label.padEnd(44)} median ${row.median.toFixed(2)} s  (min ${row.min.toFixed(2)}, max ${row.max.toFixed(2)})`);
      out[mode].push(row);
    }
    const base = out[mode].find((r) => r.label === 'seed one-liner').median;
    for (const row of out[mode]) row.ratioToSeed = round(row.median / base);
  }
  rmi(
    'bdc',
    'bdc-builder',
    'bdck',
    'bdck-builder',
    'bdc-legacy',
    'bdc-legacy-builder',
    'bdc-buildkit',
    'bdc-buildkit-builder',
    'bseed',
    'bseed-builder',
    'bseed2',
    'bseed2-builder',
    'bms',
    'bmsk',
  );
  rmSync(dir, { recursive: true, force: true });
  return out;
}

function bigSection() {
  const gib = 1024;
  console.log(`\n2. a builder that emits a ${gib} MiB tar`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-big-'));
  const pair = path.join(dir, 'big');
  mkdirSync(pair);
  // Random bytes (not zeros, which would be too kind to every stage), made once at build time.
  writeFileSync(
    path.join(pair, 'Dockerfile'),
    `FROM busybox:1.36\nRUN mkdir /o && head -c ${gib}m /dev/urandom > /o/blob && printf 'FROM scratch\\nLABEL bench=big\\n' > /o/Dockerfile\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n`,
  );
  // The runtime does not COPY the blob: what is measured is the stream into the engine, not layer writes.
  writeFileSync(path.join(pair, 'Dockerfile.run'), 'FROM scratch\nLABEL bench=big\n');
  timed(`node ${q(cli)} build ${q(pair)} --tag bbig >/dev/null 2>&1`);
  const idle = series('idle CLI (list examples)', `node ${q(cli)} list ${q(path.join(root, 'examples'))} >/dev/null`, { measureRss: true });
  const ours = series('dockerception build (1 GiB)', `node ${q(cli)} build ${q(pair)} --tag bbig >/dev/null 2>&1`, { measureRss: true });
  const raw = series('docker run | docker build - (1 GiB)', `docker run --rm bbig-builder | docker build -q -t bbigraw - >/dev/null`);
  const out = {
    idle,
    ours,
    raw,
    mibPerSecOurs: round(gib / ours.median, 1),
    mibPerSecRaw: round(gib / raw.median, 1),
    ratioToRaw: round(ours.median / raw.median),
    rssGrowthMiB: round(ours.peakRssMiB - idle.peakRssMiB, 1),
  };
  console.log(
    `  throughput ${out.mibPerSecOurs} MiB/s (raw pipe ${out.mibPerSecRaw} MiB/s), ratio ${out.ratioToRaw}; RSS growth over idle CLI ${out.rssGrowthMiB} MiB`,
  );
  rmi('bbig', 'bbig-builder', 'bbigraw');
  rmSync(dir, { recursive: true, force: true });
  return out;
}

function discoverySection() {
  console.log('\n3. pair discovery on a generated 20 000-file workspace');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-ws-'));
  let files = 0;
  for (let a = 0; a < 40 && files < 20000; a++) {
    for (let b = 0; b < 25 && files < 20000; b++) {
      const sub = path.join(dir, `pkg${a}`, `mod${b}`);
      mkdirSync(sub, { recursive: true });
      for (let c = 0; c < 20 && files < 20000; c++, files++) writeFileSync(path.join(sub, `f${c}.txt`), '');
      if (b % 5 === 0) {
        writeFileSync(path.join(sub, 'Dockerfile'), 'FROM x\n');
        writeFileSync(path.join(sub, 'Dockerfile.run'), 'FROM y\n');
      }
    }
  }
  const found = JSON.parse(execFileSync('node', [cli, 'list', dir, '--json'], { encoding: 'utf8' })).pairs.length;
  const row = series(`dockerception list (${files} files, ${found} pairs)`, `node ${q(cli)} list ${q(dir)} --json >/dev/null`);
  // In-process time, without node's start-up: what the extension's tree pays.
  const findPairsOutput = execFileSync(
    'node',
    [
      '-e',
      `const {findPairs}=require(${JSON.stringify(path.join(root, 'out/src/core/pairs.js'))});(async()=>{const t=[];for(let i=0;i<${reps};i++){const s=process.hrtime.bigint();await findPairs(${JSON.stringify(dir)});t.push(Number(process.hrtime.bigint()-s)/1e6)}t.sort((a,b)=>a-b);console.log(t[Math.floor(t.length/2)])})()`,
    ],
    { encoding: 'utf8' },
  );
  const findPairsMs = round(Number(findPairsOutput), 1);
  console.log(`  findPairs in process: median ${findPairsMs} ms`);
  rmSync(dir, { recursive: true, force: true });
  return { files, pairs: found, cli: row, findPairsMs };
}

// The Pairs view on a 20 000-file, 200-pair workspace in code-server: VS Code's file search against the
// core's folder walk, and drawing the view's rows.
function scaleSection() {
  console.log('\n9. the Pairs view on a 20 000-file workspace with 200 pairs (in code-server)');
  const runner = path.join(root, 'out', 'test', 'vscode', 'measure-scale.js');
  const measured = spawnSync('node', [runner], { encoding: 'utf8', timeout: 600_000 });
  const line = measured.stdout.split('\n').find((l) => l.startsWith('{'));
  if (!line) return { error: (measured.stderr || measured.stdout).slice(-500) };
  const out = JSON.parse(line);
  console.log(`  ${out.files} files, ${out.scalePairs} pairs: findFiles ${out.findFilesMs} ms, folder walk ${out.walkMs} ms, view rows ${out.treeRowsMs} ms`);
  return out;
}

function activationSection() {
  console.log('\n4. extension: activation, bundle and package sizes');
  const out = {};
  // What VS Code loads at activation (extension.js), right after it (extension-main.js) and on first use (the rest).
  for (const file of ['dist/extension.js', 'dist/extension-main.js', 'dist/extension-core.js', 'dist/buildkit-deps.js', 'dist/cli.js', 'dist/dockerception.js'])
    if (existsSync(path.join(root, file))) out[file] = statSync(path.join(root, file)).size;
  const vsix = readdirSync(root).find((f) => f.endsWith('.vsix'));
  if (vsix) out.vsixBytes = statSync(path.join(root, vsix)).size;
  const runner = path.join(root, 'out', 'test', 'vscode', 'measure-activation.js');
  if (existsSync(runner)) {
    // VS Code's own activation time (Show Running Extensions: Load Code + Call Activate) and an empty extension's,
    // and Startup Performance's Load Code, Call Activate and Finish Activate (until activate()'s promise resolves:
    // the deferred require of dist/extension-main.js and start()) of both, in DC_ACTIVATION_RUNS fresh windows.
    // Every field of the JSON line is kept, printed and listed in latest.md's "Extension" section.
    const measured = spawnSync('node', [runner], { encoding: 'utf8', timeout: 1_200_000 });
    const line = measured.stdout.split('\n').find((l) => l.startsWith('{'));
    if (line) Object.assign(out, JSON.parse(line));
    else out.activationError = (measured.stderr || measured.stdout).slice(-500);
  }
  for (const [k, v] of Object.entries(out))
    console.log(`  ${k}: ${typeof v === 'number' && (k.startsWith('dist/') || k === 'vsixBytes') ? `${(v / 1024).toFixed(1)} KiB` : v}`);
  return out;
}

/** 20 000 files of an object file's shape (a few bytes, a 2 KiB run of zeros, a few bytes), in 100 folders. */
function writeBinaryTree(dir, count = 20000) {
  for (let i = 0; i < count; i++) {
    const sub = path.join(dir, `d${i % 100}`);
    if (i < 100) mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `f${i}.o`), Buffer.concat([Buffer.from(`\x7fELF${i}`), Buffer.alloc(2048), Buffer.from(`end${i}`)]));
  }
}

function gateSection() {
  console.log('\n5. the tar gate alone, in process (64 KiB chunks, as the attach stream delivers them)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-gate-'));
  writeBinaryTree(path.join(dir, 'tree'));
  const treeTar = path.join(dir, 'tree.tar');
  execFileSync('tar', ['-cf', treeTar, '-C', path.join(dir, 'tree'), '.']);
  const measured = JSON.parse(execFileSync('node', [path.join(root, 'bench', 'gate-throughput.cjs'), treeTar], { encoding: 'utf8', env }));
  const out = {
    bigMiBPerSec: round(measured.bigMiB / measured.bigSeconds, 0),
    bigSeconds: round(measured.bigSeconds, 3),
    treeEntries: 20000,
    treeMiB: round(measured.treeMiB, 1),
    treeMiBPerSec: round(measured.treeMiB / measured.treeSeconds, 0),
    treeSeconds: round(measured.treeSeconds, 3),
  };
  console.log(`  1 GiB tar: ${out.bigMiBPerSec} MiB/s (median ${out.bigSeconds} s)`);
  console.log(`  20 000-entry binary-heavy tree, ${out.treeMiB} MiB: ${out.treeMiBPerSec} MiB/s (median ${out.treeSeconds} s)`);
  rmSync(dir, { recursive: true, force: true });
  return out;
}

function treeSection() {
  console.log('\n6. a builder that emits a 20 000-entry binary-heavy tree, end to end (warm)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-tree-'));
  const pair = path.join(dir, 'tree');
  mkdirSync(pair);
  // The tree is made inside the builder image (once, cached), so the builder's own context stays small.
  writeFileSync(
    path.join(pair, 'Dockerfile'),
    [
      'FROM busybox:1.36',
      "RUN mkdir /o && cd /o && head -c 2048 /dev/zero > /z && i=0 && while [ $i -lt 20000 ]; do d=d$((i % 100)); [ -d $d ] || mkdir $d; { printf 'ELF%d' $i; cat /z; printf end; } > $d/f$i.o; i=$((i+1)); done && rm /z",
      "RUN printf 'FROM scratch\\nLABEL bench=tree\\n' > /o/Dockerfile",
      'CMD ["tar", "-cf", "-", "-C", "/o", "."]',
      '',
    ].join('\n'),
  );
  writeFileSync(path.join(pair, 'Dockerfile.run'), 'FROM scratch\nLABEL bench=tree\n');
  timed(`node ${q(cli)} build ${q(pair)} --tag btree >/dev/null 2>&1`);
  const seed = `cd ${q(pair)} && docker build -q -t btree-builder . >/dev/null && docker run --rm btree-builder | docker build -q -t btreeraw - >/dev/null`;
  timed(seed);
  const ours = series('dockerception build (20 000 entries)', `node ${q(cli)} build ${q(pair)} --tag btree >/dev/null 2>&1`);
  const oneLiner = series('seed one-liner (20 000 entries)', seed);
  const raw = series('docker run | docker build - alone', `docker run --rm btree-builder | docker build -q -t btreeraw - >/dev/null`);
  const out = { ours, oneLiner, raw, ratioToOneLiner: round(ours.median / oneLiner.median), ratioToRaw: round(ours.median / raw.median) };
  console.log(`  ratio to the seed one-liner: ${out.ratioToOneLiner}; to the raw pipe alone (no builder build): ${out.ratioToRaw}`);
  rmi('btree', 'btree-builder', 'btreeraw');
  rmSync(dir, { recursive: true, force: true });
  return out;
}

// Where a no-change CLI build's time goes: Node itself, loading the CLI bundle (with and without V8's
// code cache), the whole command, and the time from the process's start to its first request to the engine
// (wall and CPU: CPU time says more than wall time on a loaded machine). The same rows for the bundles of
// BENCH_STARTUP_BASE (default: the commit before dist/buildkit-deps.js was split off), built in a temporary
// git worktree, interleaved run by run with this checkout's; `node -e ""` is the floor.
function startupSection() {
  console.log('\n7. CLI start-up (examples/hello-go built once first, so the build is up to date)');
  const pair = path.join(root, 'examples', 'hello-go');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-startup-'));
  const records = path.join(tmp, 'records');
  const base = startupBase(tmp);
  const clis = { after: cli, ...(base ? { before: base.cli } : {}) };
  const build = (which) => `DOCKERCEPTION_STATE_DIR=${q(records)} node ${q(clis[which])} build ${q(pair)} --tag bstart >/dev/null 2>&1`;
  timed(build('after'));
  const noCache = 'DISABLE_V8_COMPILE_CACHE=1';
  // Start-up is tens of milliseconds on a noisy machine: three times the repetitions.
  const many = { reps: reps * 3 };
  const rows = {
    node: series('node -e ""', `node -e ""`, many),
    help: series('dockerception --help', `node ${q(cli)} --help >/dev/null`, many),
    helpNoCodeCache: series('dockerception --help, no code cache', `${noCache} node ${q(cli)} --help >/dev/null`, many),
    build: series('dockerception build (up to date)', build('after'), many),
    buildNoCodeCache: series('dockerception build (up to date), no code cache', `${noCache} ${build('after')}`, many),
  };
  // Before/after, interleaved: --help, the up-to-date build, and the first request (a preload stops the process there).
  const preload = path.join(tmp, 'first-request.cjs');
  writeFileSync(
    preload,
    "const net=require('node:net');const c=net.Socket.prototype.connect;net.Socket.prototype.connect=function(...a){const u=process.cpuUsage();process.stderr.write(`DCFIRST ${performance.now()} ${(u.user+u.system)/1000}\\n`);process.exit(0);return c.apply(this,a)};\n",
  );
  const firstRequest = (which) => {
    const run = spawnSync('node', ['-r', preload, clis[which], 'build', pair, '--tag', 'bstart'], {
      env: { ...env, DOCKERCEPTION_STATE_DIR: records },
      encoding: 'utf8',
    });
    const match = /DCFIRST (\S+) (\S+)/.exec(run.stderr);
    if (!match) throw new Error(`no request to the engine from ${clis[which]}:\n${run.stderr.slice(-1000)}`);
    return { wall: Number(match[1]) / 1000, cpu: Number(match[2]) / 1000 };
  };
  const samples = {};
  const add = (key, value) => (samples[key] ??= []).push(value);
  for (let i = 0; i < many.reps; i++) {
    add('node', timed('node -e ""').seconds);
    for (const which of Object.keys(clis)) {
      add(`help.${which}`, timed(`node ${q(clis[which])} --help >/dev/null`).seconds);
      add(`build.${which}`, timed(build(which)).seconds);
      const first = firstRequest(which);
      add(`first.${which}`, first.wall);
      add(`firstCpu.${which}`, first.cpu);
    }
  }
  const labels = {
    node: 'node -e "" (floor)',
    help: 'dockerception --help',
    build: 'dockerception build (up to date)',
    first: 'start to first engine request (wall)',
    firstCpu: 'start to first engine request (CPU)',
  };
  rows.compared = { base: base?.commit, load: os.loadavg().map((l) => round(l, 2)), rows: [] };
  for (const [key, values] of Object.entries(samples)) {
    const [name, which] = key.split('.');
    const row = { label: `${labels[name]}${which ? `, ${which}` : ''}`, median: round(median(values), 3), runs: values.map((v) => round(v, 3)) };
    rows.compared.rows.push(row);
    console.log(`  ${row.label.padEnd(52)} median ${row.median.toFixed(3)} s`);
  }
  console.log(`  (before = ${base?.commit ?? 'none built'}; load ${rows.compared.load.join(' ')})`);
  for (const file of ['dist/cli.js', 'dist/dockerception.js', 'dist/buildkit-deps.js']) {
    if (existsSync(path.join(root, file))) console.log(`  ${file}: ${(statSync(path.join(root, file)).size / 1024).toFixed(1)} KiB`);
  }
  // The same build in a process that is already running: the engine's share alone.
  const warm = inProcess(
    `const p=await c.pairAt(${JSON.stringify(pair)});const o={tag:'bstart',recordsDir:${JSON.stringify(records)}};await c.buildPair(e,p,o);const t=[];for(let i=0;i<${reps};i++){const s=process.hrtime.bigint();await c.buildPair(e,p,o);t.push(Number(process.hrtime.bigint()-s)/1e9)}console.log(JSON.stringify(t))`,
  );
  rows.inProcess = { label: 'buildPair in a running process (up to date)', median: round(median(warm), 3), runs: warm.map((x) => round(x, 3)) };
  console.log(`  ${rows.inProcess.label.padEnd(44)} median ${rows.inProcess.median.toFixed(3)} s`);
  rmi('bstart', 'bstart-builder');
  rmSync(tmp, { recursive: true, force: true });
  return rows;
}

/** The CLI built from BENCH_STARTUP_BASE in a temporary worktree (removed again), or undefined when it cannot be built. */
function startupBase(tmp) {
  const git = (...args) => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();
  try {
    const split = git('log', '--reverse', '--format=%H', '-S', 'buildkit-deps.js', '--', 'esbuild.js').split('\n')[0];
    const commit = process.env.BENCH_STARTUP_BASE ?? (split ? `${split}~1` : undefined);
    if (!commit) return undefined;
    const tree = path.join(tmp, 'base');
    git('worktree', 'add', '--quiet', '--detach', tree, commit);
    try {
      execFileSync('ln', ['-s', path.join(root, 'node_modules'), path.join(tree, 'node_modules')]);
      execFileSync('node', ['esbuild.js'], { cwd: tree, stdio: 'ignore' });
      const out = path.join(tmp, 'base-dist');
      mkdirSync(out);
      for (const f of readdirSync(path.join(tree, 'dist'))) if (!f.endsWith('.map')) cpSync(path.join(tree, 'dist', f), path.join(out, f));
      return { commit: git('rev-parse', '--short', commit), cli: path.join(out, 'cli.js') };
    } finally {
      git('worktree', 'remove', '--force', tree);
    }
  } catch (error) {
    console.log(`  (no before row: ${String(error.message ?? error).split('\n')[0]})`);
    return undefined;
  }
}

// The builder container's run, with no network (the default) and with the engine's default network:
// forced builds of a pair whose builder only writes a small tar, in one process.
function networkSection() {
  console.log('\n8. the builder run, with and without a network');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-net-'));
  const pair = path.join(dir, 'net');
  mkdirSync(pair);
  writeFileSync(path.join(pair, 'Dockerfile'), 'FROM busybox:1.36\nRUN mkdir /o && echo hi > /o/hello.txt\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n');
  writeFileSync(path.join(pair, 'Dockerfile.run'), 'FROM scratch\nCOPY hello.txt /\n');
  const out = {};
  for (const network of ['none', 'default']) {
    const runs = inProcess(
      `const p=await c.pairAt(${JSON.stringify(pair)});const o={tag:'bnet',builderNetwork:'${network}',force:true,builder:'legacy'};await c.buildPair(e,p,o);const t=[];for(let i=0;i<${reps * 2};i++){const r=await c.buildPair(e,p,o);t.push([r.timings.builderRunMs/1000,r.timings.totalMs/1000])}console.log(JSON.stringify(t))`,
    );
    out[network] = { builderRun: round(median(runs.map((r) => r[0])), 3), total: round(median(runs.map((r) => r[1])), 3), runs: runs.length };
    console.log(
      `  network ${network.padEnd(8)} builder run median ${out[network].builderRun.toFixed(3)} s, whole build ${out[network].total.toFixed(3)} s (${runs.length} builds)`,
    );
  }
  rmi('bnet', 'bnet-builder');
  rmSync(dir, { recursive: true, force: true });
  return out;
}

// The same commands over each transport; the endpoints are the engine tests' own (out/test/support).
async function enginesSection() {
  console.log('\n10. the engine transport: `dockerception engine` and an up-to-date build of a tiny pair');
  if (process.getuid?.() !== 0) {
    console.log('  skipped: sshd and a second dockerd need root');
    return undefined;
  }
  const require = createRequire(import.meta.url);
  const support = (name) => require(path.join(root, 'out', 'test', 'support', 'endpoints', `${name}.js`));
  const { SshServer } = support('sshd');
  const { PrivateEngine } = support('dockerd');
  const { makeCerts } = support('certs');
  const { freePort } = support('process');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-engines-'));
  const pair = path.join(dir, 'tiny');
  mkdirSync(pair);
  writeFileSync(path.join(pair, 'Dockerfile'), 'FROM busybox:1.36\nRUN mkdir /o && echo hi > /o/hello.txt\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n');
  writeFileSync(path.join(pair, 'Dockerfile.run'), 'FROM scratch\nCOPY hello.txt /\n');
  const certs = makeCerts(path.join(dir, 'certs'));
  const sshd = new SshServer(await freePort());
  const tls = new PrivateEngine('bench-tls', { port: await freePort(), certs });
  const out = {};
  try {
    await sshd.start();
    await tls.start();
    tls.loadFrom(['busybox:1.36']);
    const transports = {
      unix: `DOCKER_HOST=unix:///var/run/docker.sock`,
      ssh: `PATH=${q(sshd.path)} DOCKER_HOST=ssh://${sshd.alias}`,
      tls: `DOCKER_HOST=${tls.tcpUrl} DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=${q(certs.client)}`,
    };
    for (const [name, vars] of Object.entries(transports)) {
      const build = `${vars} DOCKERCEPTION_STATE_DIR=${q(path.join(dir, 'records'))} node ${q(cli)} build ${q(pair)} --tag bengines >/dev/null 2>&1`;
      timed(build);
      out[name] = {
        engine: series(`${name}: dockerception engine`, `${vars} node ${q(cli)} engine >/dev/null`),
        build: series(`${name}: build (up to date)`, build),
      };
    }
  } finally {
    rmi('bengines', 'bengines-builder');
    await sshd.remove();
    await tls.remove();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// 11. buildall: a generated workspace of 20 pairs (small static C programs built with gcc:12; one pair,
//     base, is the runtime base of five others): `build --all` cold (--no-cache, nothing tagged) and with
//     nothing changed, against a shell loop of the seed's one-liner (base first) and Debian's
//     docker-compose 1.29 (`build --parallel`) on the same 20 services as multi-stage Dockerfiles (the five
//     carry the base's stage inline: compose does not order builds). Then 200 tiny pairs all up to date
//     through the CLI, and the CLI's peak RSS at 20 and 200 pairs.
function buildAllSection() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-all-'));
  const state = path.join(dir, 'state');
  const ws = path.join(dir, 'ws');
  const allEnv = `DOCKERCEPTION_STATE_DIR=${q(state)}`;
  // BENCH_ALL_PAIRS / BENCH_ALL_MANY shrink the workspaces for a quick check of this section (default 20 and 200).
  const count = Number(process.env.BENCH_ALL_PAIRS ?? 20);
  const manyCount = Number(process.env.BENCH_ALL_MANY ?? 200);
  const shared = Math.min(5, count - 1);
  const names = Array.from({ length: count }, (_, i) => (i === 0 ? 'base' : `svc${String(i).padStart(2, '0')}`));
  const usesBase = (i) => i >= 1 && i <= shared;
  const TAG = (name) => `bench-ba-${name}`;
  const builder = 'FROM gcc:12\nCOPY app.c /src/app.c\nRUN mkdir /out && gcc -static -Os -o /out/app /src/app.c\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n';
  const compose = { version: '3', services: {} };
  for (const [i, name] of names.entries()) {
    const d = path.join(ws, TAG(name));
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, 'app.c'), `#include <stdio.h>\nint main(void) { puts("${name} ${i}"); return 0; }\n`);
    writeFileSync(path.join(d, 'Dockerfile'), builder);
    const runtime =
      i === 0
        ? 'FROM busybox:1.36\nCOPY app /usr/local/bin/greet\n'
        : usesBase(i)
          ? `FROM ${TAG('base')}\nCOPY app /app\nENTRYPOINT ["/app"]\n`
          : 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n';
    writeFileSync(path.join(d, 'Dockerfile.run'), runtime);
    // The same service for compose, multi-stage.
    const stages = [
      'FROM gcc:12 AS build\nCOPY app.c /src/app.c\nRUN mkdir /out && gcc -static -Os -o /out/app /src/app.c\n',
      usesBase(i) ? `FROM gcc:12 AS basebuild\nCOPY base.c /src/app.c\nRUN mkdir /out && gcc -static -Os -o /out/app /src/app.c\n` : '',
      i === 0 ? 'FROM busybox:1.36\nCOPY --from=build /out/app /usr/local/bin/greet\n' : '',
      usesBase(i) ? 'FROM busybox:1.36\nCOPY --from=basebuild /out/app /usr/local/bin/greet\nCOPY --from=build /out/app /app\nENTRYPOINT ["/app"]\n' : '',
      i > shared ? 'FROM scratch\nCOPY --from=build /out/app /app\nENTRYPOINT ["/app"]\n' : '',
    ];
    writeFileSync(path.join(d, 'Dockerfile.compose'), stages.join(''));
    compose.services[name] = { build: { context: `./${TAG(name)}`, dockerfile: 'Dockerfile.compose' }, image: TAG(`compose-${name}`) };
  }
  for (let i = 1; i <= shared; i++) cpSync(path.join(ws, TAG('base'), 'app.c'), path.join(ws, TAG(names[i]), 'base.c'));
  writeFileSync(path.join(ws, 'docker-compose.yml'), JSON.stringify(compose, null, 2));
  // --all names each pair after its folder under the workspace: bench-ba-base, bench-ba-svc01, …
  const ours = ws;
  const all = `${allEnv} node ${q(cli)} build --all ${q(ws)}`;
  const ourTag = (name) => TAG(name);
  const ourTags = names.flatMap((n) => [ourTag(n), `${ourTag(n)}-builder`]);
  const seedTags = names.flatMap((n) => [`bench-ba-seed-${n}`, `bench-ba-seed-${n}-builder`]);
  const seedOne = (n, i, noCache) => {
    const runtimeDir = path.join(ours, TAG(n));
    const seedRun = usesBase(i)
      ? `FROM bench-ba-seed-base\nCOPY app /app\nENTRYPOINT ["/app"]\n`
      : readFileSync(path.join(runtimeDir, 'Dockerfile.run'), 'utf8');
    writeFileSync(path.join(runtimeDir, 'Dockerfile.seed'), seedRun);
    // The seed's one-liner, with the runtime Dockerfile sent as the tar's only extra entry.
    return `docker build ${noCache ? '--no-cache ' : ''}-q -t bench-ba-seed-${n}-builder ${q(runtimeDir)} >/dev/null && docker run --rm bench-ba-seed-${n}-builder | (d=$(mktemp -d) && cd $d && tar -xf - && cp ${q(path.join(runtimeDir, 'Dockerfile.seed'))} Dockerfile && tar -cf - . | docker build ${noCache ? '--no-cache ' : ''}-q -t bench-ba-seed-${n} - >/dev/null; rm -rf $d)`;
  };
  const seedLoop = (noCache) => names.map((n, i) => seedOne(n, i, noCache)).join(' && ');
  // The pattern's own cost at our parallelism: the same one-liners, base first, then 4 at once (xargs -P 4,
  // as --jobs 4), each pair's line a script of its own. What Build All adds beyond the pattern is its row
  // against this one; what the pattern costs beyond a multi-stage build is this row against Compose's.
  const seedScripts = path.join(dir, 'seed-scripts');
  mkdirSync(seedScripts, { recursive: true });
  for (const [i, n] of names.entries()) writeFileSync(path.join(seedScripts, `${n}.sh`), `set -e -o pipefail\n${seedOne(n, i, true)}\n`);
  const seedParallelCold = `bash ${q(path.join(seedScripts, `${names[0]}.sh`))} && printf '%s\\n' ${names
    .slice(1)
    .map((n) => q(path.join(seedScripts, `${n}.sh`)))
    .join(' ')} | xargs -P 4 -n 1 bash`;
  // docker-compose 1.29's --parallel sometimes fails with urllib3's "Pool is closed" (its own connection pool,
  // not the engine): such a run is made again once, and the time counts both.
  // The seed's loop writes its Dockerfile.seed into each pair's folder: written once, before anything is
  // timed, so that every method sees the same folders (written between runs, it changed our builder's
  // context, and the first "nothing changed" Build All after it rebuilt every builder from the cache).
  const seedCold = seedLoop(true);
  const seedWarm = seedLoop(false);
  const composeCmd = (noCache) => {
    const once = `COMPOSE_DOCKER_CLI_BUILD=0 docker-compose -p benchba build --parallel ${noCache ? '--no-cache ' : ''}-q`;
    return `cd ${q(ours)} && { ${once} || ${once}; }`;
  };
  const haveCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
  const out = { pairs: count, sharedBy: shared, many: manyCount };
  try {
    console.log(`\n11. Build All: ${count} pairs (gcc:12, static C), base shared by ${shared}`);
    const cleanOurs = () => {
      rmi(...ourTags);
      rmSync(state, { recursive: true, force: true });
    };
    // Both of ours name the builder: the engine's default here is legacy (the docker CLI's too), and
    // docker-compose 1.29 builds in parallel only with docker-py, which is legacy (with
    // COMPOSE_DOCKER_CLI_BUILD=1 it ignores --parallel, and Debian's docker CLI has no buildx for BuildKit).
    // The BuildKit rows are ours with --builder buildkit, the same pairs. CPU: every row is CPU-bound on
    // this machine, so the machine's and dockerd's CPU seconds say where the time goes.
    const cpuOpts = { reps, measureCpu: true };
    out.cold = {
      buildAll: series('build --all, cold (--no-cache), legacy', () => (cleanOurs(), `${all} --builder legacy --no-cache >/dev/null 2>&1`), {
        ...cpuOpts,
        measureRss: true,
      }),
      buildAllBuildKit: series(
        'build --all, cold (--no-cache), BuildKit',
        () => (cleanOurs(), `${all} --builder buildkit --no-cache >/dev/null 2>&1`),
        cpuOpts,
      ),
      seedLoop: series('shell loop of the seed one-liner, cold', () => (rmi(...seedTags), seedCold), cpuOpts),
      seedParallel: series('the seed one-liner, 4 at once, cold', () => (rmi(...seedTags), seedParallelCold), cpuOpts),
      compose: haveCompose ? series('docker-compose build --parallel, cold', () => composeCmd(true), cpuOpts) : undefined,
    };
    // Nothing changed: BuildKit's rows first (its records were made by the last cold run above), then legacy's
    // (built once more, untimed, so that its records are legacy's).
    const bkNoChange = series('build --all, nothing changed, BuildKit', `${all} --builder buildkit >/dev/null 2>&1`, cpuOpts);
    timed(`${all} --builder legacy >/dev/null 2>&1`);
    out.noChange = {
      buildAll: series('build --all, nothing changed, legacy', `${all} --builder legacy >/dev/null 2>&1`, { ...cpuOpts, measureRss: true }),
      buildAllBuildKit: bkNoChange,
      seedLoop: series('shell loop of the seed one-liner, no change', seedWarm, cpuOpts),
      compose: haveCompose ? series('docker-compose build --parallel, no change', composeCmd(false), cpuOpts) : undefined,
    };
    if (!haveCompose) console.log("  (docker-compose is not installed: 'apt-get install docker-compose' for its rows)");
    rmi(...seedTags, ...names.map((n) => TAG(`compose-${n}`)));
    cleanOurs();

    // 200 tiny busybox pairs, built once (not timed), then all up to date through the CLI (BENCH_ALL_MANY=0: not run).
    // First the CLI's peak RSS at the small workspace, nothing changed: its up-to-date run above.
    if (manyCount > 0) {
      const many = path.join(dir, 'many');
      for (let i = 0; i < manyCount; i++) {
        const d = path.join(many, `bench-ba-p${String(i).padStart(3, '0')}`);
        mkdirSync(d, { recursive: true });
        writeFileSync(path.join(d, 'Dockerfile'), `FROM busybox:1.36\nRUN mkdir /o && echo ${i} > /o/n.txt\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n`);
        writeFileSync(path.join(d, 'Dockerfile.run'), 'FROM scratch\nCOPY n.txt /\n');
      }
      const manyTags = Array.from({ length: manyCount }, (_, i) => `bench-ba-p${String(i).padStart(3, '0')}`).flatMap((n) => [n, `${n}-builder`]);
      const manyCmd = `${allEnv} node ${q(cli)} build --all ${q(many)}`;
      // Built once, untimed; a pair that failed there (an engine under load can refuse a build) is built
      // again by a second run, which leaves the others up to date. The failures are printed.
      for (let attempt = 1; attempt <= 2; attempt++) {
        const started = process.hrtime.bigint();
        const run = spawnSync('bash', ['-c', `${manyCmd} 2>/dev/null`], { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
        const failed = run.stdout.split('\n').filter((line) => / (failed|skipped) /.test(line) || /^bench-ba-p\d+: /.test(line));
        console.log(
          `  ${manyCount} pairs built (not in the table), run ${attempt}: ${(Number(process.hrtime.bigint() - started) / 1e9).toFixed(1)} s, exit ${run.status}`,
        );
        for (const line of failed.slice(0, 10)) console.log(`    ${line}`);
        if (run.status === 0) break;
      }
      try {
        out.upToDate200 = series(`build --all, ${manyCount} pairs up to date`, `${manyCmd} >/dev/null 2>&1`, { reps, measureRss: true });
      } finally {
        rmi(...manyTags);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

function doctorSection() {
  console.log('\n12. the doctor alone, in process (examineImage: one streamed export of the image, then the checks)');
  const nodeImage = 'dc-bench-doctor-node';
  const libs = ['libc.so.6', 'libdl.so.2', 'libstdc++.so.6', 'libm.so.6', 'libgcc_s.so.1', 'libpthread.so.0'].map((l) => `usr/lib/x86_64-linux-gnu/${l}`);
  execFileSync(
    'bash',
    [
      '-o',
      'pipefail',
      '-c',
      `tar -C / -chf - usr/bin/node lib64/ld-linux-x86-64.so.2 ${libs.join(' ')} | docker import --change 'ENTRYPOINT ["/usr/bin/node"]' - ${nodeImage}`,
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const doctor = path.join(root, 'out/src/core/doctor/index.js');
  const out = {};
  try {
    for (const [name, ref] of [
      ['busybox', 'busybox:1.36'],
      ['node', nodeImage],
    ]) {
      // One warm-up pass, then `reps` timed ones.
      const measured = inProcess(
        `const d=require(${JSON.stringify(doctor)});const ms=[];let findings;for(let i=0;i<=${reps};i++){const s=process.hrtime.bigint();const x=await d.examineImage(e.docker,${JSON.stringify(ref)});if(i>0)ms.push(Number(process.hrtime.bigint()-s)/1e6);findings=x.findings.length;}console.log(JSON.stringify({ms,findings}))`,
      );
      out[name] = {
        medianMs: round(median(measured.ms), 1),
        minMs: round(Math.min(...measured.ms), 1),
        findings: measured.findings,
        runs: measured.ms.map((x) => round(x, 1)),
      };
      console.log(`  ${`examineImage ${ref}`.padEnd(44)} median ${out[name].medianMs} ms  (min ${out[name].minMs}; ${measured.findings} finding(s))`);
    }
  } finally {
    rmi(nodeImage);
  }
  return out;
}

// 13. manyimages: what a BuildKit build pays for listing the build cache when the engine holds many images.
async function manyImagesSection() {
  console.log('\n13. 500 more images on the engine: /system/df, the build cache alone, and a BuildKit build');
  const require = createRequire(import.meta.url);
  const core = require(path.join(root, 'out', 'src', 'core', 'index.js'));
  const { buildCacheRecords } = require(path.join(root, 'out', 'src', 'core', 'buildkit-cache.js'));
  const tar = require('tar-stream');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-bench-many-'));
  const pair = path.join(dir, 'tiny');
  mkdirSync(pair);
  writeFileSync(path.join(pair, 'Dockerfile'), 'FROM busybox:1.36\nCMD ["sh", "-c", "mkdir -p /o && echo hi > /o/hello.txt && tar -cf - -C /o ."]\n');
  writeFileSync(path.join(pair, 'Dockerfile.run'), 'FROM scratch\nCOPY hello.txt /\n');
  const engine = await core.connectEngine();
  const { docker } = engine;
  const many = Number(process.env.BENCH_MANY_IMAGES ?? 500);
  const refs = Array.from({ length: many }, (_, i) => `dc-bench-many:${i}`);
  const timeMs = async (fn) => {
    const started = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  // BENCH_OLD_CORE=DIR: a compiled core of an earlier commit (DIR/src/core/index.js, e.g. a worktree of 1d75e20, before
  // the build cache was read without /system/df) builds the same pair, interleaved, for the before/after.
  const oldCore = process.env.BENCH_OLD_CORE ? require(path.join(process.env.BENCH_OLD_CORE, 'src', 'core', 'index.js')) : undefined;
  const oldEngine = oldCore ? await oldCore.connectEngine() : undefined;
  const measure = async (label) => {
    const df = [];
    const cache = [];
    const builds = [];
    const oldBuilds = [];
    for (let i = 0; i < reps; i++) {
      df.push(await timeMs(() => docker.df()));
      cache.push(await timeMs(() => buildCacheRecords(docker)));
      builds.push(
        await timeMs(() =>
          core.buildPair(engine, core.pairFor(pair), { tag: 'bmany', builder: 'buildkit', force: true, recordsDir: path.join(dir, 'records') }),
        ),
      );
      if (oldCore)
        oldBuilds.push(
          await timeMs(() =>
            oldCore.buildPair(oldEngine, oldCore.pairFor(pair), { tag: 'bmany', builder: 'buildkit', force: true, recordsDir: path.join(dir, 'records-old') }),
          ),
        );
    }
    const row = { dfMs: round(median(df), 1), buildCacheMs: round(median(cache), 1), buildkitBuildS: round(median(builds) / 1000, 3) };
    if (oldCore) row.oldBuildkitBuildS = round(median(oldBuilds) / 1000, 3);
    console.log(
      `  ${label.padEnd(26)} /system/df ${row.dfMs} ms, build cache alone ${row.buildCacheMs} ms, BuildKit build ${row.buildkitBuildS} s` +
        `${oldCore ? ` (the earlier core: ${row.oldBuildkitBuildS} s)` : ''} (medians of ${reps})`,
    );
    return row;
  };
  const out = {};
  try {
    out.without = await measure('without them');
    // Tiny distinct images: a one-file layer each, imported through the API, eight at a time.
    const started = Date.now();
    for (let i = 0; i < many; i += 8) {
      await Promise.all(
        refs.slice(i, i + 8).map((ref) => {
          const pack = tar.pack();
          pack.entry({ name: 'n' }, ref);
          pack.finalize();
          return new Promise((resolve, reject) =>
            docker.importImage(pack, { repo: 'dc-bench-many', tag: ref.split(':')[1] }, (error, stream) =>
              error ? reject(error) : docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve())),
            ),
          );
        }),
      );
    }
    console.log(`  made ${many} images in ${round((Date.now() - started) / 1000, 1)} s`);
    out.with = await measure(`with ${many} more images`);
    out.images = many;
  } finally {
    for (let i = 0; i < refs.length; i += 16)
      await Promise.all(
        refs.slice(i, i + 16).map((ref) =>
          docker
            .getImage(ref)
            .remove({ force: true })
            .catch(() => undefined),
        ),
      );
    rmi('bmany', 'bmany-builder');
    core.closeEngine(engine);
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

// 14. ship: the core's push and pull-size estimate against the docker CLI and gzip, side by side.
async function shipSection() {
  console.log('\n14. ship: push of the hello-go runtime and the pull-size estimate');
  const require = createRequire(import.meta.url);
  const { PrivateRegistry } = require(path.join(root, 'out', 'test', 'support', 'endpoints', 'registry.js'));
  const { freePort } = require(path.join(root, 'out', 'test', 'support', 'endpoints', 'process.js'));
  const ship = path.join(root, 'out', 'src', 'core', 'ship', 'index.js');
  const engineJs = path.join(root, 'out', 'src', 'core', 'engine', 'index.js');
  const image = 'bship';
  timed(`node ${q(cli)} build ${q(path.join(root, 'examples', 'hello-go'))} --tag ${image} >/dev/null 2>&1`);
  const node = (body) =>
    `node -e ${q(`const s=require(${JSON.stringify(ship)});const g=require(${JSON.stringify(engineJs)});(async()=>{const e=await g.connectEngine();${body};g.closeEngine(e)})().catch(x=>{console.error(x.message);process.exit(1)})`)}`;
  // A fresh registry per push: every layer is sent, none 'already exists' or is mounted.
  const floorJs = path.join(root, 'bench', 'ship-floor.cjs');
  const pushes = { ours: [], core: [], docker: [], floor: [] };
  const refs = [];
  try {
    for (let i = 0; i < reps; i++) {
      for (const who of ['ours', 'core', 'docker', 'floor']) {
        const registry = new PrivateRegistry(await freePort(), 'unused', 'unused', { auth: false });
        await registry.start();
        try {
          const ref = `${registry.host}/hello-go:bench`;
          execFileSync('docker', ['tag', image, ref]);
          refs.push(ref);
          // What a user runs: the CLI bundle's push (the push, then the pushed manifest read back for the pull
          // size, and the record), against the docker CLI's.
          // 'core': the same push and manifest read called in a running process (no Node start, no bundle load).
          if (who === 'core') {
            const ms = execFileSync(
              'bash',
              [
                '-c',
                node(
                  `const t=performance.now();const r=await s.pushImage(e, ${JSON.stringify(ref)});await s.pushedManifest(r.canonical);console.log(performance.now()-t)`,
                ),
              ],
              { encoding: 'utf8' },
            );
            pushes.core.push(Number(ms.trim()) / 1000);
            continue;
          }
          // 'floor': a bare node process sending the engine's push and reading it to the end (bench/ship-floor.cjs).
          const command =
            who === 'ours'
              ? `DOCKERCEPTION_STATE_DIR=${q(path.join(os.tmpdir(), 'dc-bench-ship-state'))} node ${q(cli)} push ${q(path.join(root, 'examples', 'hello-go'))} --tag ${q(ref)} >/dev/null 2>&1`
              : who === 'floor'
                ? `node ${q(floorJs)} push ${q(ref)} >/dev/null`
                : `docker push ${q(ref)} >/dev/null`;
          pushes[who].push(timed(command).seconds);
        } finally {
          await registry.remove();
        }
      }
    }
  } finally {
    if (refs.length) rmi(...refs);
  }
  const row = (label, xs) => {
    const r = { label, median: round(median(xs), 3), min: round(Math.min(...xs), 3), max: round(Math.max(...xs), 3), runs: xs.map((x) => round(x, 3)) };
    return r;
  };
  const push = {
    ours: row('dockerception push (CLI)', pushes.ours),
    core: row('pushImage + pushedManifest (in process)', pushes.core),
    docker: row('docker push', pushes.docker),
    floor: row('bare node: the engine push alone (floor)', pushes.floor),
  };
  push.ratio = round(push.ours.median / push.docker.median, 2);
  push.coreRatio = round(push.core.median / push.docker.median, 2);
  push.floorRatio = round(push.floor.median / push.docker.median, 2);
  console.log(
    `  push    ours ${push.ours.median.toFixed(3)} s (in process ${push.core.median.toFixed(3)} s) | docker push ${push.docker.median.toFixed(3)} s | ${push.ratio}× (in process ${push.coreRatio}×) | floor, a bare node push ${push.floor.median.toFixed(3)} s: ${push.floorRatio}×`,
  );
  // Interleaved, one run of each in turn: the CLI, the floor (a bare node process: the export's GET and the same
  // block compression, no bundle and no tar parsing; bench/ship-floor.cjs) and the docker CLI with gzip.
  // And what loading the CLI costs before any work: its --version against an empty node.
  const estimateRuns = { ours: [], floor: [], gzip: [], cliStart: [], node: [] };
  for (let i = 0; i < reps; i++) {
    estimateRuns.cliStart.push(timed(`node ${q(cli)} --version >/dev/null`).seconds);
    estimateRuns.node.push(timed(`node -e ''`).seconds);
    estimateRuns.ours.push(timed(`node ${q(cli)} inspect ${q(path.join(root, 'examples', 'hello-go'))} --tag ${image} --pull-size >/dev/null 2>&1`).seconds);
    estimateRuns.floor.push(timed(`node ${q(floorJs)} estimate ${image} >/dev/null`).seconds);
    estimateRuns.gzip.push(timed(`docker save ${image} | gzip -6 | wc -c >/dev/null`).seconds);
  }
  const estimate = {
    ours: row('dockerception inspect --pull-size (CLI)', estimateRuns.ours),
    floor: row('bare node: GET export + block gzip (floor)', estimateRuns.floor),
    gzip: row('docker save | gzip -6 | wc -c', estimateRuns.gzip),
  };
  const start = { cli: row('node dist/cli.js --version', estimateRuns.cliStart), node: row("node -e ''", estimateRuns.node) };
  estimate.ratio = round(estimate.ours.median / estimate.gzip.median, 2);
  estimate.floorRatio = round(estimate.floor.median / estimate.gzip.median, 2);
  // In process: estimatePullSize called again and again in one running process (the first call warms it up).
  const inProcess = execFileSync(
    'bash',
    [
      '-c',
      node(
        `const xs=[];for(let i=0;i<=${reps};i++){const t=performance.now();await s.estimatePullSize(e, ${JSON.stringify(image)});if(i)xs.push((performance.now()-t)/1000)}console.log(JSON.stringify(xs))`,
      ),
    ],
    { encoding: 'utf8' },
  );
  estimate.core = row('estimatePullSize (in process)', JSON.parse(inProcess.trim()));
  estimate.coreRatio = round(estimate.core.median / estimate.gzip.median, 2);
  estimate.oursBytes = Number(
    execFileSync('bash', ['-c', node(`const r=await s.estimatePullSize(e, ${JSON.stringify(image)});console.log(r.pullSize)`)], { encoding: 'utf8' }).trim(),
  );
  estimate.gzipBytes = Number(execFileSync('bash', ['-o', 'pipefail', '-c', `docker save ${image} | gzip -6 | wc -c`], { encoding: 'utf8' }).trim());
  console.log(
    `  estimate ours ${estimate.ours.median.toFixed(3)} s (in process ${estimate.core.median.toFixed(3)} s, ${estimate.oursBytes} B) | docker save | gzip -6 ${estimate.gzip.median.toFixed(3)} s (${estimate.gzipBytes} B) | ${estimate.ratio}× (in process ${estimate.coreRatio}×) | floor, a bare node ${estimate.floor.median.toFixed(3)} s: ${estimate.floorRatio}×`,
  );
  rmi(image, `${image}-builder`);
  console.log(`  start   node dist/cli.js --version ${start.cli.median.toFixed(3)} s | node -e '' ${start.node.median.toFixed(3)} s`);
  return { push, estimate, start, load: os.loadavg().map((l) => round(l, 2)) };
}

const runners = {
  engines: enginesSection,
  startup: startupSection,
  network: networkSection,
  pipeline: pipelineSection,
  big: bigSection,
  gate: gateSection,
  tree: treeSection,
  discovery: discoverySection,
  activation: activationSection,
  scale: scaleSection,
  buildall: buildAllSection,
  doctor: doctorSection,
  manyimages: manyImagesSection,
  ship: shipSection,
  small: () => smallSection({ root, reps }),
  bridge: () => bridgeSection({ root, reps: Math.min(reps, 3) }),
};
console.log(`Dockerception benchmarks: ${reps} repetitions, ${results.machine.cpus} CPUs`);
for (const name of sections) results.sections[name] = await runners[name]();

// Builds that replace a tag leave the old image dangling: remove those this run made (twice, since a
// parent goes only after its children), and nothing older.
const benchStarted = Date.parse(results.date);
for (let pass = 0; pass < 2; pass++) {
  const dangling = execFileSync('docker', ['images', '--filter', 'dangling=true', '--format', '{{.ID}} {{.CreatedAt}}'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '))
    .filter(([, day, time, zone]) => Date.parse(`${day}T${time}${zone.replace(/(\d\d)(\d\d)$/, '$1:$2')}`) >= benchStarted - 1000)
    .map(([id]) => id);
  if (dangling.length > 0) rmi(...dangling);
}

// The BuildKit builds' layer records in the build cache: the ones this run made go too.
spawnSync('node', [path.join(root, 'scripts', 'prune-build-cache.cjs'), String(Math.floor(benchStarted / 1000))], { stdio: 'inherit' });

const outDir = path.join(root, 'bench', 'results');
mkdirSync(outDir, { recursive: true });
// A partial run (some sections, or some modes of the pipeline) keeps what it did not measure from the
// last results, marked with the date they were measured.
const previousFile = path.join(outDir, 'latest.json');
if (existsSync(previousFile)) {
  const previous = JSON.parse(readFileSync(previousFile, 'utf8'));
  // --render measured nothing: the file keeps the last run's date and repetitions.
  if (sections.length === 0) Object.assign(results, { date: previous.date ?? results.date, reps: previous.reps ?? results.reps });
  for (const [name, section] of Object.entries(previous.sections ?? {})) {
    const carried = (value) => ({ ...value, measured: value.measured ?? previous.date });
    if (name === 'pipeline') {
      results.sections.pipeline ??= {};
      for (const [mode, rows] of Object.entries(section)) if (Array.isArray(rows)) results.sections.pipeline[mode] ??= rows.map(carried);
    } else {
      results.sections[name] ??= carried(section);
    }
  }
}
writeFileSync(path.join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(path.join(outDir, 'latest.md'), markdown(results));
console.log(`\nWrote bench/results/latest.json and latest.md`);

/** How many runs the medians in a section are of: the lengths of its `runs` lists (none: not recorded). */
function runCounts(value, counts = new Set()) {
  if (Array.isArray(value?.runs)) counts.add(value.runs.length);
  for (const child of typeof value === 'object' && value !== null ? Object.values(value) : []) runCounts(child, counts);
  return counts;
}

/** When each section was measured and over how many runs: a partial run carries the others from an earlier one. */
function sectionDates(r) {
  const rows = Object.entries(r.sections).map(([name, section]) => {
    const measured =
      (Array.isArray(section) ? undefined : section.measured) ??
      Object.values(section)
        .flat()
        .find((row) => row?.measured)?.measured ??
      r.date;
    const counts = [...runCounts(section)].sort((a, b) => a - b);
    const runs = counts.length === 0 ? '' : ` (medians of ${counts.length === 1 ? counts[0] : `${counts[0]}–${counts.at(-1)}`} runs)`;
    return `${measured.slice(0, 16).replace('T', ' ')} UTC: ${name}${runs}`;
  });
  return [
    'When each section was measured:',
    '',
    ...rows
      .sort()
      .reverse()
      .map((row) => `- ${row}`),
    '',
  ];
}

function markdown(r) {
  const lines = [`# Benchmarks (${r.date.slice(0, 10)}, medians, ${r.machine.cpus} CPUs)`, '', 'Made by `npm run bench`.', '', ...sectionDates(r)];
  const p = r.sections.pipeline;
  if (p) {
    lines.push(
      '## Pipeline on examples/hello-go',
      '',
      '| method | no change (s) | × seed | Dockerfile.run changed (s) | × seed | one source changed (s) | × seed | cold (s) | × seed |',
      '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    const cell = (rows, label) => {
      const row = rows?.find((c) => c.label === label);
      return row ? `${row.median.toFixed(2)} | ${row.ratioToSeed.toFixed(2)}` : '– | –';
    };
    for (const { label } of p.warm ?? p.change ?? p.cold)
      lines.push(`| ${label} | ${cell(p.warm, label)} | ${cell(p.runfile, label)} | ${cell(p.change, label)} | ${cell(p.cold, label)} |`);
    const dates = ['warm', 'runfile', 'change', 'cold'].filter((mode) => p[mode]).map((mode) => `${mode} ${(p[mode]?.[0]?.measured ?? r.date).slice(0, 16)}`);
    lines.push('', `Measured: ${dates.join(', ')} (UTC); ratios are within one mode's run.`);
    lines.push('');
  }
  const st = r.sections.startup;
  if (st) {
    lines.push('## CLI start-up (no-change build of examples/hello-go)', '', '| | median (s) |', '|---|---:|');
    for (const row of Object.values(st).filter((v) => v?.label)) lines.push(`| ${row.label} | ${row.median.toFixed(3)} |`);
    lines.push('');
  }
  const en = r.sections.engines;
  if (en) {
    lines.push('## The engine transport (tiny pair, through the CLI)', '', '| transport | `engine` (s) | build, up to date (s) |', '|---|---:|---:|');
    for (const [name, row] of Object.entries(en).filter(([k]) => k !== 'measured'))
      lines.push(`| ${name} | ${row.engine.median.toFixed(3)} | ${row.build.median.toFixed(3)} |`);
    lines.push('');
  }
  const n = r.sections.network;
  if (n) {
    lines.push("## The builder's network (forced builds of a tiny pair, in process)", '', '| network | builder run (s) | whole build (s) |', '|---|---:|---:|');
    for (const [name, row] of Object.entries(n).filter(([k]) => k !== 'measured'))
      lines.push(`| ${name} | ${row.builderRun.toFixed(3)} | ${row.total.toFixed(3)} |`);
    lines.push('');
  }
  const b = r.sections.big;
  if (b) {
    lines.push('## 1 GiB builder output', '', '| | median (s) | MiB/s | peak RSS (MiB) |', '|---|---:|---:|---:|');
    lines.push(`| dockerception build | ${b.ours.median.toFixed(2)} | ${b.mibPerSecOurs} | ${b.ours.peakRssMiB} |`);
    lines.push(`| docker run \\| docker build - | ${b.raw.median.toFixed(2)} | ${b.mibPerSecRaw} | |`);
    lines.push(
      `| idle CLI | | | ${b.idle.peakRssMiB} |`,
      '',
      `Ratio to the raw pipe: ${b.ratioToRaw}; RSS growth over the idle CLI: ${b.rssGrowthMiB} MiB.`,
      '',
    );
  }
  const g = r.sections.gate;
  if (g)
    lines.push(
      '## Tar gate alone (in process)',
      '',
      `- 1 GiB tar: ${g.bigMiBPerSec} MiB/s`,
      `- ${g.treeEntries}-entry binary-heavy tree (${g.treeMiB} MiB): ${g.treeMiBPerSec} MiB/s`,
      '',
    );
  const t = r.sections.tree;
  if (t) {
    lines.push('## 20 000-entry binary-heavy tree, end to end (warm)', '', '| | median (s) | × |', '|---|---:|---:|');
    lines.push(
      `| dockerception build | ${t.ours.median.toFixed(2)} | |`,
      `| seed one-liner (builder build, run, build -) | ${t.oneLiner.median.toFixed(2)} | ${t.ratioToOneLiner} |`,
    );
    lines.push(`| docker run \\| docker build - alone | ${t.raw.median.toFixed(2)} | ${t.ratioToRaw} |`, '');
  }
  const sc = r.sections.scale;
  if (sc && !sc.error) {
    lines.push(
      '## The Pairs view at scale (code-server)',
      '',
      `${sc.files} files, ${sc.scalePairs} pairs: pair discovery with VS Code's file search ${sc.findFilesMs} ms, with the core's folder walk ${sc.walkMs} ms; the view's rows (two image inspects per pair) ${sc.treeRowsMs} ms.`,
      '',
    );
  }
  const d = r.sections.discovery;
  if (d)
    lines.push(
      '## Pair discovery',
      '',
      `${d.files} files, ${d.pairs} pairs: \`dockerception list\` ${d.cli.median.toFixed(2)} s (process start included); findPairs in process ${d.findPairsMs} ms.`,
      '',
    );
  const ba = r.sections.buildall;
  if (ba) {
    const cell = (row) => (row ? `${row.median.toFixed(1)}` : '–');
    const ratio = (row, to) => (row && to ? `${(row.median / to.median).toFixed(2)}×` : '–');
    lines.push(
      `## Build All: ${ba.pairs} pairs (static C with gcc:12; one base used by ${ba.sharedBy})`,
      '',
      '| method | cold (s) | × compose | CPU cold: machine / dockerd (s) | nothing changed (s) | × compose |',
      '|---|---:|---:|---:|---:|---:|',
      ...[
        ['dockerception build --all (legacy)', 'buildAll'],
        ['dockerception build --all (BuildKit)', 'buildAllBuildKit'],
        ['shell loop of the seed one-liner (legacy)', 'seedLoop'],
        ['the seed one-liner, 4 at once (legacy)', 'seedParallel'],
        ['docker-compose 1.29 build --parallel (legacy)', 'compose'],
      ].map(
        ([name, key]) =>
          `| ${name} | ${cell(ba.cold[key])} | ${ratio(ba.cold[key], ba.cold.compose)} | ${ba.cold[key]?.cpuMachineS ?? '–'} / ${ba.cold[key]?.cpuDockerdS ?? '–'} | ${cell(ba.noChange[key])} | ${ratio(ba.noChange[key], ba.noChange.compose)} |`,
      ),
      '',
      `${ba.many} pairs all up to date through the CLI: ${ba.upToDate200 ? ba.upToDate200.median.toFixed(2) : '–'} s. Peak RSS of the CLI: ${ba.noChange.buildAll?.peakRssMiB} MiB at ${ba.pairs} pairs, ${ba.upToDate200?.peakRssMiB} MiB at ${ba.many}.`,
      '',
    );
  }
  const a = r.sections.activation;
  if (a) lines.push('## Extension', '', ...Object.entries(a).map(([k, v]) => `- ${k}: ${v}`), '');
  const dr = r.sections.doctor;
  if (dr)
    lines.push(
      '## The doctor (examineImage in process)',
      '',
      ...Object.entries(dr)
        .filter(([k]) => k !== 'measured')
        .map(([name, row]) => `- ${name}: median ${row.medianMs} ms (min ${row.minMs} ms)`),
      '',
    );
  const mi = r.sections.manyimages;
  if (mi?.with)
    lines.push(
      `## ${mi.images} more images on the engine (the build cache listing)`,
      '',
      '| | /system/df | build cache alone | BuildKit build |',
      '|---|---|---|---|',
      ...[
        ['without them', mi.without],
        [`with ${mi.images} more`, mi.with],
      ].map(([k, v]) => `| ${k} | ${v.dfMs} ms | ${v.buildCacheMs} ms | ${v.buildkitBuildS} s |`),
      '',
    );
  const sh = r.sections.ship;
  if (sh?.push)
    lines.push(
      '## Ship: push and pull-size estimate (hello-go runtime, loopback docker-registry)',
      '',
      '| | ours (s) | docker CLI (s) | × |',
      '|---|---:|---:|---:|',
      `| push (every layer sent), CLI | ${sh.push.ours.median.toFixed(3)} | ${sh.push.docker.median.toFixed(3)} (docker push) | ${sh.push.ratio}× |`,
      ...(sh.push.core
        ? [
            `| push, in process (pushImage + pushedManifest) | ${sh.push.core.median.toFixed(3)} | ${sh.push.docker.median.toFixed(3)} | ${sh.push.coreRatio}× |`,
          ]
        : []),
      ...(sh.push.floor
        ? [
            `| floor: a bare node process sending the engine's push (bench/ship-floor.cjs) | ${sh.push.floor.median.toFixed(3)} | ${sh.push.docker.median.toFixed(3)} | ${sh.push.floorRatio}× |`,
          ]
        : []),
      `| pull-size estimate, CLI | ${sh.estimate.ours.median.toFixed(3)} (${sh.estimate.oursBytes} B) | ${sh.estimate.gzip.median.toFixed(3)} (docker save \\| gzip -6 \\| wc -c: ${sh.estimate.gzipBytes} B) | ${sh.estimate.ratio}× |`,
      ...(sh.estimate.core
        ? [
            `| pull-size estimate, in process (estimatePullSize) | ${sh.estimate.core.median.toFixed(3)} | ${sh.estimate.gzip.median.toFixed(3)} | ${sh.estimate.coreRatio}× |`,
          ]
        : []),
      ...(sh.estimate.floor
        ? [
            `| floor: a bare node process, GET of the export + the same block gzip (bench/ship-floor.cjs) | ${sh.estimate.floor.median.toFixed(3)} | ${sh.estimate.gzip.median.toFixed(3)} | ${sh.estimate.floorRatio}× |`,
          ]
        : []),
      ...(sh.start
        ? [
            '',
            `Loading the CLI before any work: \`node dist/cli.js --version\` ${sh.start.cli.median.toFixed(3)} s against \`node -e ''\` ${sh.start.node.median.toFixed(3)} s. The floors add nothing for it.`,
          ]
        : []),
      ...(sh.load ? ['', `Load average when measured: ${sh.load.join(', ')} (2 CPUs).`] : []),
      '',
    );
  return `${lines.join('\n')}\n`;
}
