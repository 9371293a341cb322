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

const builds = [
  // The command is a small entry that turns on V8's code cache, then loads the CLI bundle next to it.
  { ...shared, entryPoints: ['src/cli-entry.ts'], outfile: 'dist/cli.js', external: ['./dockerception.js'], banner: { js: '#!/usr/bin/env node' } },
  { ...shared, entryPoints: ['src/cli.ts'], outfile: 'dist/dockerception.js' },
  {
    ...shared,
    entryPoints: ['src/extension.ts'],
    outfile: 'dist/extension.js',
    external: ['vscode'],
    // When the bundle started loading: activate() reports load + activate time from it.
    banner: { js: 'globalThis.__dockerceptionLoadStart = performance.now();' },
  },
];

async function main() {
  const fs = require('node:fs');
  const present = builds.filter((b) => fs.existsSync(b.entryPoints[0]));
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
