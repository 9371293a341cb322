// One build script for both bundles: the CLI (dist/cli.js) and the extension (dist/extension.js, with
// 'vscode' left to the host). `node esbuild.js --watch` rebuilds on change; --production drops source maps.
const esbuild = require('esbuild');
const { version } = require('./package.json');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/**
 * dockerode requires gRPC at load time for the BuildKit session its `buildImage(…, {version: '2'})`
 * opens. Dockerception sends builds itself and opens its own session only for registry credentials
 * (src/core/buildkit-session.ts, which imports gRPC when it runs), so dockerode's requires get a stub
 * and gRPC is not initialised on every start.
 */
const buildKitStub = {
  name: 'buildkit-stub',
  setup(build) {
    build.onResolve({ filter: /^@grpc\/(grpc-js|proto-loader)$/ }, (args) =>
      /[\\/]node_modules[\\/]dockerode[\\/]/.test(args.importer) ? { path: args.path, namespace: 'buildkit-stub' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'buildkit-stub' }, () => ({
      contents:
        "module.exports = new Proxy({}, { get(_, key) { throw new Error('dockerode\\'s BuildKit session is not bundled in Dockerception (it opens its own): ' + String(key)); } });",
      loader: 'js',
    }));
  },
};

/**
 * docker-modem requires its ssh transport (ssh2) at start-up. Dockerception reaches ssh:// engines through
 * the system's ssh, as the docker CLI does (src/core/engine/ssh-dial.ts), so that known_hosts and
 * ~/.ssh/config apply; ssh2 is never used and is left out of the bundle.
 */
const noSsh2 = {
  name: 'no-ssh2',
  setup(build) {
    build.onResolve({ filter: /^\.\/ssh$/ }, (args) => (/docker-modem[\\/]lib$/.test(args.resolveDir) ? { path: 'ssh', namespace: 'no-ssh2' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'no-ssh2' }, () => ({
      contents: "module.exports = function () { throw new Error('ssh:// engines go through the system ssh in Dockerception, not ssh2'); };",
      loader: 'js',
    }));
  },
};

/**
 * gRPC and protobufjs/minimal (≈ 380 KiB) serve only the BuildKit session (registry credentials) and BuildKit's
 * cache listing, which import them when they run. They are dist/buildkit-deps.js, read on that first use, so
 * that every start of the CLI and of the extension's core does not read and compile them.
 */
const BUILDKIT_DEPS = { '@grpc/grpc-js': 'grpc', 'protobufjs/minimal': 'protobufMinimal' };
const buildKitDepsEntry = {
  contents: Object.entries(BUILDKIT_DEPS)
    .map(([mod, key]) => `Object.defineProperty(exports, ${JSON.stringify(key)}, { enumerable: true, get: () => require(${JSON.stringify(mod)}) });`)
    .join('\n'),
  resolveDir: __dirname,
  sourcefile: 'buildkit-deps-entry.js',
  loader: 'js',
};
const lazyBuildKitDeps = {
  name: 'lazy-buildkit-deps',
  setup(build) {
    build.onResolve({ filter: /^(@grpc\/grpc-js|protobufjs\/minimal)$/ }, (args) =>
      /[\\/]node_modules[\\/]/.test(args.importer) ? undefined : { path: args.path, namespace: 'lazy-buildkit-deps' },
    );
    build.onResolve({ filter: /^\.\/buildkit-deps\.js$/ }, (args) => ({ path: args.path, external: true }));
    build.onLoad({ filter: /.*/, namespace: 'lazy-buildkit-deps' }, (args) => ({
      contents: `module.exports = require('./buildkit-deps.js')[${JSON.stringify(BUILDKIT_DEPS[args.path])}];`,
      loader: 'js',
      resolveDir: __dirname,
    }));
  },
};

/**
 * Packages whose evaluation the CLI's start paid for before its first request although an up-to-date build
 * does not use them (the tar reader and writer, BuildKit's progress decoder, the Dockerfile parser): each
 * import gets a module of getters, one per export, that evaluates the package on the first use of any of
 * them. The keys are the package's own, read here at build time.
 */
const LAZY_PACKAGES = ['tar-stream', 'tar-fs', 'protobufjs/light', 'dockerfile-ast'];
const lazyPackages = {
  name: 'lazy-packages',
  setup(build) {
    const filter = new RegExp(`^(${LAZY_PACKAGES.map((p) => p.replace(/[/.-]/g, '\\$&')).join('|')})$`);
    build.onResolve({ filter }, (args) => (args.namespace === 'lazy-packages' ? undefined : { path: args.path, namespace: 'lazy-packages' }));
    build.onLoad({ filter: /.*/, namespace: 'lazy-packages' }, (args) => {
      const keys = Object.keys(require(require.resolve(args.path, { paths: [__dirname] })));
      const lines = [`let m; const load = () => (m ??= require(${JSON.stringify(args.path)}));`];
      for (const key of keys)
        lines.push(`Object.defineProperty(exports, ${JSON.stringify(key)}, { enumerable: true, get: () => load()[${JSON.stringify(key)}] });`);
      return { contents: lines.join('\n'), loader: 'js', resolveDir: __dirname };
    });
  },
};

const shared = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // Minified always: the CLI starts ~30 ms sooner and the .vsix is a third of the size. Source maps
  // (not in --production builds) keep stack traces readable with node --enable-source-maps.
  sourcemap: !production,
  minify: true,
  logLevel: 'warning',
  plugins: [buildKitStub, noSsh2],
  define: { 'process.env.DOCKERCEPTION_VERSION': JSON.stringify(version) },
};

/**
 * The extension starts with dist/extension.js alone (activate() and nothing else); dist/extension-main.js, required
 * right after activate() returns, holds the VS Code adapters, pair discovery, settings, sizes and the engine's
 * address. Everything a build, the report or the Problems panel needs (dockerode, tar, the
 * doctor, the BuildKit session, dockerfile-ast) is dist/extension-core.js, required on first use: the
 * extension's imports of src/core (and of build-all and diagnostics/locate) go to a generated facade that
 * re-exports the LIGHT modules and forwards every other function to the core bundle. Plain values (strings,
 * numbers, arrays of them) are copied into the facade; anything else the extension imports fails the build
 * ("No matching export"): add its module to LIGHT then. DockerceptionError and ShipError are one class each in both bundles: the
 * core bundle takes their modules (SHARED) from the extension bundle through globals, so instanceof holds.
 */
const path = require('node:path');
const ROOT = __dirname;
// The tag templates are LIGHT because readSettings() (which activation reaches) parses dockerception.runtimeTag
// with them; their import of pipeline.ts (isValidReference, used only when a template is expanded) is LAZY.
const LIGHT = [
  'src/core/errors.ts',
  'src/core/pairs.ts',
  'src/core/sizes.ts',
  'src/core/engine/index.ts',
  'src/core/ship/errors.ts',
  'src/core/ship/tags.ts',
].map((f) => path.join(ROOT, f));
const LAZY = ['src/core/index.ts', 'src/core/build-all/index.ts', 'src/extension/diagnostics/locate.ts', 'src/core/pipeline.ts'].map((f) => path.join(ROOT, f));
/** Modules of error classes that both bundles must share (instanceof), each under its own global key. */
const SHARED = new Map([
  [path.join(ROOT, 'src/core/errors.ts'), "Symbol.for('dockerception.core-errors')"],
  [path.join(ROOT, 'src/core/ship/errors.ts'), "Symbol.for('dockerception.ship-errors')"],
]);
const CORE_BUNDLE = './extension-core.js';

const coreEntry = {
  contents: [
    "export * from './src/core/index';",
    "export * from './src/core/build-all';",
    "export { locateProblems } from './src/extension/diagnostics/locate';",
    // connect.ts (in the extension bundle) creates its client from this bundle's dockerode.
    "export { default as __dockerode } from 'dockerode';",
  ].join('\n'),
  resolveDir: ROOT,
  sourcefile: 'extension-core-entry.ts',
  loader: 'ts',
};

/** In the core bundle: each SHARED module is the extension bundle's (one DockerceptionError, one ShipError), or its own when loaded alone. */
const sharedErrors = {
  name: 'shared-errors',
  setup(build) {
    build.onResolve({ filter: /errors$/ }, async (args) => {
      if (args.namespace === 'shared-errors' || args.pluginData === 'own') return undefined;
      const resolved = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: 'own' });
      return SHARED.has(resolved.path) ? { path: resolved.path, namespace: 'shared-errors' } : undefined;
    });
    build.onResolve({ filter: /.*/, namespace: 'shared-errors' }, (args) => ({ path: args.path }));
    build.onLoad({ filter: /.*/, namespace: 'shared-errors' }, (args) => ({
      contents: `module.exports = globalThis[${SHARED.get(args.path)}] ?? require(${JSON.stringify(args.path)});`,
      loader: 'js',
      resolveDir: ROOT,
    }));
  },
};

/** In the extension bundle: imports of LAZY modules go to the facade; the core bundle and dockerode stay out. */
function lazyCore(facade) {
  return {
    name: 'lazy-core',
    setup(build) {
      build.onResolve({ filter: /^\.\/extension-core\.js$/ }, () => ({ path: CORE_BUNDLE, external: true }));
      build.onResolve({ filter: /^dockerode$/ }, () => ({ path: 'dockerode', namespace: 'lazy-core' }));
      build.onResolve({ filter: /^\.\.?\// }, async (args) => {
        if (args.pluginData === 'real' || args.namespace === 'lazy-core') return undefined;
        const resolved = await build.resolve(args.path, { resolveDir: args.resolveDir, kind: args.kind, pluginData: 'real' });
        return LAZY.includes(resolved.path) ? { path: 'facade', namespace: 'lazy-core' } : undefined;
      });
      build.onLoad({ filter: /^dockerode$/, namespace: 'lazy-core' }, () => ({
        contents: `module.exports = require(${JSON.stringify(CORE_BUNDLE)}).__dockerode;`,
        loader: 'js',
        resolveDir: ROOT,
      }));
      build.onLoad({ filter: /^facade$/, namespace: 'lazy-core' }, () => ({ contents: facade, loader: 'js', resolveDir: ROOT }));
    },
  };
}

/** The facade's source: LIGHT re-exported, every other export of the core bundle forwarded or copied. */
async function facadeSource() {
  const Module = require('node:module');
  const load = async (contents) => {
    const out = await esbuild.build({
      ...shared,
      sourcemap: false,
      minify: false,
      write: false,
      stdin: { ...coreEntry, contents },
      plugins: [buildKitStub, noSsh2],
    });
    const mod = new Module('facade-probe');
    mod.paths = Module._nodeModulePaths(ROOT);
    mod._compile(out.outputFiles[0].text, path.join(ROOT, 'facade-probe.js'));
    return mod.exports;
  };
  const light = await load(LIGHT.map((f) => `export * from ${JSON.stringify(f)};`).join('\n'));
  const core = await load(coreEntry.contents);
  const lines = [
    ...LIGHT.map((f) => `export * from ${JSON.stringify(f)};`),
    ...[...SHARED].flatMap(([file, key], i) => [`import * as shared${i} from ${JSON.stringify(file)};`, `globalThis[${key}] = shared${i};`]),
    `let core; const load = () => (core ??= require(${JSON.stringify(CORE_BUNDLE)}));`,
  ];
  for (const [name, value] of Object.entries(core)) {
    if (name in light || name === 'default' || name.startsWith('__')) continue;
    if (typeof value === 'function' && !/^class\b/.test(Function.prototype.toString.call(value))) {
      lines.push(`export function ${name}(...args) { return load().${name}(...args); }`);
    } else if (
      value === null ||
      ['string', 'number', 'boolean'].includes(typeof value) ||
      (Array.isArray(value) && value.every((v) => typeof v !== 'object'))
    ) {
      lines.push(`export const ${name} = ${JSON.stringify(value)};`);
    }
  }
  return lines.join('\n');
}

/**
 * One namespace object for the `vscode` module in dist/extension-main.js. esbuild turns each file's
 * `import * as vscode from 'vscode'` of an external module into its own __toESM(require('vscode')), a copy of
 * the API's ~300 properties as getters: 28 files made 28 copies, 11–52 ms of the module's evaluation at every
 * start (code-server's extension host, load 3–5). Here every file imports one module that re-exports the API once.
 */
const oneVscodeNamespace = {
  name: 'one-vscode-namespace',
  setup(build) {
    build.onResolve({ filter: /^vscode$/ }, (args) =>
      args.namespace === 'one-vscode-namespace' ? { path: 'vscode', external: true } : { path: 'vscode', namespace: 'one-vscode-namespace' },
    );
    build.onLoad({ filter: /.*/, namespace: 'one-vscode-namespace' }, () => ({ contents: "export * from 'vscode';", loader: 'js' }));
  },
};

const builds = [
  // The command is a small entry that turns on V8's code cache, then loads the CLI bundle next to it.
  { ...shared, entryPoints: ['src/cli-entry.ts'], outfile: 'dist/cli.js', external: ['./dockerception.js'], banner: { js: '#!/usr/bin/env node' } },
  { ...shared, entryPoints: ['src/cli.ts'], outfile: 'dist/dockerception.js', plugins: [...shared.plugins, lazyBuildKitDeps, lazyPackages] },
  {
    ...shared,
    stdin: coreEntry,
    outfile: 'dist/extension-core.js',
    plugins: [...shared.plugins, sharedErrors, lazyBuildKitDeps],
    entryPoints: [path.join(ROOT, 'src/core/index.ts')],
  },
  // gRPC and protobufjs/minimal, for the two above on first use (lazyBuildKitDeps).
  { ...shared, stdin: buildKitDepsEntry, outfile: 'dist/buildkit-deps.js', entryPoints: ['src/core/buildkit-session.ts'] },
  {
    ...shared,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    external: ['vscode', './extension-main.js'],
    // When the extension started loading: the test API's activationMs counts from it to the end of the set-up.
    banner: { js: 'globalThis.__dockerceptionLoadStart = performance.now();' },
  },
  // Required by dist/extension.js once activate() has returned: everything the extension sets up.
  {
    ...shared,
    entryPoints: ['src/extension/main.ts'],
    outfile: 'dist/extension-main.js',
    external: ['vscode'],
    plugins: [...shared.plugins, oneVscodeNamespace],
    lazyCore: true,
  },
];

async function main() {
  const fs = require('node:fs');
  // The split needs the package to carry the core bundle: until .vscodeignore lets dist/extension-core.js in
  // (or DOCKERCEPTION_SPLIT=1 asks for it), the extension stays one bundle.
  const split = process.env.DOCKERCEPTION_SPLIT === '1' || /^!dist\/extension-core\.js$/m.test(fs.readFileSync('.vscodeignore', 'utf8'));
  const facade = split ? await facadeSource() : undefined;
  const present = builds
    .filter((b) => split || b.outfile !== 'dist/extension-core.js')
    .filter((b) => fs.existsSync(b.entryPoints[0]))
    .map(({ lazyCore: lazy, ...b }) => (lazy && facade ? { ...b, plugins: [...b.plugins, lazyCore(facade)] } : b))
    .map((b) => (b.stdin ? (({ entryPoints: _, ...rest }) => rest)(b) : b));
  if (watch) {
    for (const options of present) await (await esbuild.context(options)).watch();
    return;
  }
  const results = await Promise.all(present.map((options) => esbuild.build({ ...options, metafile: true })));
  fs.chmodSync('dist/cli.js', 0o755);
  // What each bundle weighs (and with --analyze, what weighs most in it): the extension's start-up loads only dist/extension.js.
  for (const result of results) {
    for (const [file, output] of Object.entries(result.metafile.outputs)) {
      if (file.endsWith('.map')) continue;
      if (process.argv.includes('--sizes') || process.argv.includes('--analyze')) console.log(`${file}: ${(output.bytes / 1024).toFixed(1)} KiB`);
      if (process.argv.includes('--analyze')) {
        const groups = {};
        for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
          const match = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(input);
          const group = match ? match[1] : input.replace(/\/[^/]+$/, '');
          groups[group] = (groups[group] ?? 0) + bytesInOutput;
        }
        for (const [group, bytes] of Object.entries(groups)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 12))
          console.log(`  ${(bytes / 1024).toFixed(1).padStart(7)} KiB  ${group}`);
      }
    }
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
