// The `dockerception` command. The CLI bundle is compiled with the code cache an earlier run of the same
// command left (src/cli/code-cache.ts): every function that run compiled, so a build starts and runs with
// less compiling. Files the bundle loads later (dist/buildkit-deps.js) keep Node 22's
// module.enableCompileCache() where it exists, else v8-compile-cache.
import * as nodeModule from 'node:module';
import * as path from 'node:path';
import { cacheCommand, requireWithCodeCache } from './cli/code-cache';

const enableCompileCache = (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache;
if (enableCompileCache) enableCompileCache();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only where Node has no cache of its own
else require('v8-compile-cache');

// Resolved at run time, next to this file: the bundle built from src/cli.ts.
const args = process.argv.slice(2);
const cli = requireWithCodeCache(path.join(__dirname, 'dockerception.js'), cacheCommand(args)) as typeof import('./cli');
void cli.run(args);
