// The CLI bundle, loaded with V8's code cache made at the end of an earlier run of the same command.
//
// A code cache made when a script is compiled (what v8-compile-cache and Node's own compile cache keep) holds
// only the functions V8 compiled eagerly, the bundle's top level; every function a build calls (the engine
// client, the tar gate, the Dockerfile parser, the doctor) is compiled again on each start. A cache made when
// the process exits (vm.Script#createCachedData) holds every function compiled during the run, so the next run
// of that command skips those compilations: 30-45 ms of CPU less on a small rebuild here (README, Performance).
//
// The cache is one file per bundle and command, in the user's cache folder (never a shared temp folder, where
// another user could plant code); it is made when missing or when V8 rejects it (another Node or V8 flags),
// and is named by the bundle's size, mtime and inode, so a rebuilt bundle is never run with a cache of the
// old one (V8 itself checks only the source's length). Any failure falls back to a plain require.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import Module, { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';

/** Where the caches live: $DOCKERCEPTION_CODE_CACHE_DIR, else the user's cache folder. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKERCEPTION_CODE_CACHE_DIR ?? path.join(env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'dockerception', 'code-cache');
}

interface Cached {
  file: string;
  /** The name's prefix shared by every cache of this bundle path, Node and command (older ones are removed). */
  prefix: string;
  data?: Buffer;
}

function cacheFor(bundle: string, command: string, dir: string): Cached {
  const stat = fs.statSync(bundle);
  const prefix = createHash('sha256').update(`${bundle}\0${process.version}\0${process.arch}\0${command}`).digest('hex').slice(0, 16);
  const file = path.join(dir, `${prefix}-${stat.size}-${Math.trunc(stat.mtimeMs)}-${stat.ino}.v8`);
  let data: Buffer | undefined;
  try {
    data = fs.readFileSync(file);
  } catch {
    data = undefined;
  }
  return { file, prefix, data };
}

/** Writes the cache atomically (a parallel run never reads half of one) and removes this command's older ones. */
function save(cached: Cached, data: Buffer): void {
  const dir = path.dirname(cached.file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temporary = `${cached.file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, data, { mode: 0o600 });
  fs.renameSync(temporary, cached.file);
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith(`${cached.prefix}-`) && path.join(dir, name) !== cached.file) fs.rmSync(path.join(dir, name), { force: true });
  }
}

/** The CLI's commands, each with a cache of its own (what a build compiles is not what a push does). */
const COMMANDS = new Set(['build', 'push', 'inspect', 'list', 'engine', 'export', 'import']);

/** The cache's name for a command line: its first word when it is a command, else 'other'. */
export function cacheCommand(args: readonly string[]): string {
  const first = args.find((arg) => !arg.startsWith('-'));
  return first && COMMANDS.has(first) ? first : 'other';
}

/** require(bundle), compiled with the command's code cache when there is one; the cache is made at exit when not. */
export function requireWithCodeCache(bundle: string, command: string, env: NodeJS.ProcessEnv = process.env): unknown {
  // Without vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER (older Nodes) the bundle's one dynamic import
  // (node:http2, for BuildKit) would have no loader: a plain require then.
  const loader = (vm.constants as unknown as { USE_MAIN_CONTEXT_DEFAULT_LOADER?: symbol } | undefined)?.USE_MAIN_CONTEXT_DEFAULT_LOADER;
  const moduleApi = Module as unknown as { _cache: Record<string, unknown>; wrap(source: string): string; _nodeModulePaths(dir: string): string[] };
  if (env.DOCKERCEPTION_NO_CODE_CACHE || !loader || moduleApi._cache[bundle]) return createRequire(bundle)(bundle);
  let cached: Cached;
  let script: vm.Script;
  try {
    cached = cacheFor(bundle, command, codeCacheDir(env));
    script = new vm.Script(moduleApi.wrap(fs.readFileSync(bundle, 'utf8')), {
      filename: bundle,
      cachedData: cached.data,
      importModuleDynamically: loader as never,
    });
  } catch {
    return createRequire(bundle)(bundle);
  }
  if (!cached.data || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        save(cached, script.createCachedData());
      } catch {
        // A read-only or full disk: the next run compiles as this one did.
      }
    });
  }
  // The module as require would make it, registered so that a later require of the bundle finds this one.
  const mod = new Module(bundle) as Module & { filename: string; paths: string[]; loaded: boolean };
  mod.filename = bundle;
  mod.paths = moduleApi._nodeModulePaths(path.dirname(bundle));
  moduleApi._cache[bundle] = mod;
  const wrapper = script.runInThisContext({ displayErrors: true }) as (...args: unknown[]) => void;
  wrapper.call(mod.exports, mod.exports, createRequire(bundle), mod, bundle, path.dirname(bundle));
  mod.loaded = true;
  return mod.exports;
}
