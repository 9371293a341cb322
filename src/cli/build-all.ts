// `dockerception build --all [DIR]`: every pair under DIR, in dependency order, several at once, on one engine
// or spread over several (--engines); with --tag templates each pair gets its own names, and with --push each
// is pushed before it counts as done. A thin adapter over src/core/build-all and src/core/ship.
import * as path from 'node:path';
import { DockerceptionError, buildPair, closeEngine, connectEngine, findPairs, isShipError, pairFor, pushableRefs, tagImage, type Engine } from '../core';
import { buildAll, defaultJobs, outcomeTable, planBuildAll, selectPairs, shippedOutcomeJson, type NamedEngine, type OutcomePush } from '../core/build-all';
import { refsFor, sayingShipErrors, shipper, tagTemplates, type CliParts } from './ship';

/** The --engines list: docker context names (or 'default'), comma-separated, each once. */
export function engineNames(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const given = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(','));
  const names = given.map((n) => n.trim()).filter(Boolean);
  if (names.length === 0) return [];
  return [...new Set(names)];
}

/** Connects to every engine at once; one that cannot be reached fails the run before anything builds. */
async function connectEngines(names: readonly string[]): Promise<NamedEngine[]> {
  const settled = await Promise.allSettled(names.map((name) => connectEngine({ context: name })));
  const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [`${names[i]}: ${(s.reason as Error).message}`] : []));
  const connected = settled.flatMap((s, i) => (s.status === 'fulfilled' ? [{ name: names[i], engine: s.value }] : []));
  if (failed.length > 0) {
    for (const { engine } of connected) closeEngine(engine);
    throw new DockerceptionError(
      'ENGINE_UNREACHABLE',
      `--engines: ${failed.length} of ${names.length} engine(s) cannot be reached, so nothing was built.\n${failed.join('\n')}\n` +
        "Check each with 'docker --context NAME version', or leave it out of --engines.",
      'connect',
    );
  }
  return connected;
}

export function buildAllCli(dir: string | undefined, values: Record<string, unknown>, json: boolean, parts: CliParts): Promise<number> {
  return sayingShipErrors(json, () => buildAllPairs(dir, values, json, parts));
}

async function buildAllPairs(dir: string | undefined, values: Record<string, unknown>, json: boolean, parts: CliParts): Promise<number> {
  if (values['push-builder'] && !values.push) throw parts.usageError('--push-builder goes with --push');
  const names = engineNames(values.engines);
  if (names !== undefined && names.length === 0) throw parts.usageError('--engines takes docker context names, comma-separated (docker context ls)');
  if (names && values.host !== undefined) throw parts.usageError('--engines and --host both say where to build: give one (a context per engine in --engines)');
  let jobs = defaultJobs();
  if (values.jobs !== undefined) {
    const n = Number(values.jobs);
    if (!Number.isInteger(n) || n < 1) throw parts.usageError(`--jobs takes a whole number of builds at once (1 or more), got '${String(values.jobs)}'`);
    jobs = { jobs: n, why: `${n} at once (--jobs)` };
  }
  const shared = parts.sharedOptions(values);
  // Names from the folder given, else from the git repository root (as a single build names them).
  const root = dir !== undefined ? path.resolve(dir) : await parts.defaultRoot();
  const found = (await findPairs(dir ?? '.')).map((p) => (dir === undefined ? pairFor(p.dir, root) : p));
  const pairs = selectPairs(found, root, (values.only as string[] | undefined) ?? [], (values.exclude as string[] | undefined) ?? []);
  if (pairs.length === 0) {
    throw new DockerceptionError(
      'NO_PAIR',
      found.length === 0
        ? `No pairs under ${path.resolve(dir ?? '.')}: a pair is a folder with a builder 'Dockerfile' and a runtime 'Dockerfile.run'. Give 'build --all' the folder that holds them.`
        : `None of the ${found.length} pair(s) under ${root} match --only/--exclude; 'dockerception list ${dir ?? '.'}' shows their folders and names.`,
      'discover',
    );
  }
  // The order, and pairs whose own names collide, refused naming both folders.
  const plan = await planBuildAll(pairs, { buildArgsOf: () => shared.buildArgs ?? {} });
  // Every pair's shipping names, known (and checked) before anything builds.
  const templates = tagTemplates(values);
  const refsOf = new Map<string, string[]>();
  const owner = new Map<string, string>();
  // Asked for every pair at once (a template's variables may ask git per pair).
  const refs = await Promise.all(pairs.map((pair) => refsFor(pair, templates, pair.name)));
  pairs.forEach((pair, i) => refsOf.set(pair.dir, refs[i]));
  // With --push, a pair with no tag that names a registry is refused before anything builds.
  if (values.push) pairs.forEach((pair, i) => pushableRefs(refs[i], pair.name));
  for (const pair of pairs) {
    for (const ref of refsOf.get(pair.dir) ?? []) {
      const other = owner.get(ref);
      const which = `${pair.name} (${pair.dir})`;
      if (other) throw parts.usageError(`--tag gives ${other} and ${which} the same name ${ref}: put \${name} or \${folder} in it`);
      owner.set(ref, which);
    }
  }
  const engines = names ? await connectEngines(names) : [{ name: '', engine: await connectEngine({ host: values.host as string | undefined }) }];
  try {
    // Each engine pushes what it built, with the credentials read once for the run.
    const pushers = new Map<Engine, ReturnType<typeof shipper>>(engines.map(({ engine }) => [engine, shipper(engine, values)]));
    const ordered = plan.filter((p) => p.needs.length > 0).length;
    const where = names ? ` on ${names.length} engines (${names.join(', ')}), ${jobs.jobs} at once on each; pairs that use each other's images share one` : '';
    process.stderr.write(
      `Building ${plan.length} pair(s) under ${root}, ${jobs.why}${where}${ordered > 0 ? `; ${ordered} wait for the pairs whose images they use` : ''}${values.push ? '; each is pushed once built' : ''}.\n`,
    );
    const width = Math.max(...plan.map((p) => p.pair.name.length));
    const pushes = new Map<string, OutcomePush>();
    const abort = new AbortController();
    const started = Date.now();
    const outcomes = await parts.cancellable(abort, 'Cancelling: stopping every running build and push, removing their containers...', () =>
      buildAll(engines[0].engine, plan, {
        jobs: jobs.jobs,
        failFast: Boolean(values['fail-fast']),
        signal: abort.signal,
        ...(names ? { engines } : {}),
        buildOptions: () => shared,
        onEvent: parts.allPrinter(width),
        // The pair's build, then its tags and its push: a failed push is the pair's failure.
        build: async (engine, pair, options) => {
          const result = await buildPair(engine, pair, options);
          const refs = refsOf.get(pair.dir) ?? [result.runtime.tag];
          const push = pushers.get(engine);
          try {
            if (values.push && push) {
              const shipped = await push(pair, result.runtime.tag, refs, options.signal ?? abort.signal, `[${pair.name}]`.padEnd(width + 3));
              if (shipped.recordProblem) process.stderr.write(`[${pair.name}] ${shipped.recordProblem}\n`);
              pushes.set(pair.dir, { canonical: shipped.main.canonical, digest: shipped.main.digest, pullSize: shipped.main.pullSize });
            } else {
              const extra = refs.filter((r) => r !== result.runtime.tag);
              if (extra.length > 0) await tagImage(engine, result.runtime.tag, extra);
            }
          } catch (error) {
            if (!isShipError(error)) throw error;
            throw new DockerceptionError(error.code === 'CANCELLED' ? 'CANCELLED' : 'RUNTIME_BUILD_FAILED', `${error.code}: ${error.message}`, 'tag', {
              cause: error,
            });
          }
          return result;
        },
        onFinish: (o, done, total) => {
          const what =
            o.result === 'failed' ? `failed: ${o.error?.code}: ${o.error?.message.split('\n')[0]}` : o.result === 'skipped' ? `skipped: ${o.reason}` : o.result;
          const pushed = pushes.get(o.pair.dir);
          const on = o.engine ? ` on ${o.engine}` : '';
          process.stderr.write(`[${o.pair.name}]`.padEnd(width + 3) + `${what}${on}${pushed ? `, pushed ${pushed.canonical}` : ''} (${done} of ${total})\n`);
        },
      }),
    );
    const sorted = [...outcomes].sort((a, b) => a.pair.name.localeCompare(b.pair.name));
    if (json) process.stdout.write(`${JSON.stringify(sorted.map((o) => shippedOutcomeJson(o, pushes.get(o.pair.dir))))}\n`);
    else process.stdout.write(`\n${outcomeTable(sorted, values.push ? pushes : undefined)}\n`);
    process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1)} s in all.\n`);
    if (abort.signal.aborted) return 130;
    return outcomes.some((o) => o.result === 'failed') ? 1 : 0;
  } finally {
    for (const { engine } of engines) closeEngine(engine);
  }
}
