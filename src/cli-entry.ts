// The `dockerception` command. V8 compiles the 700 KiB CLI bundle on every start; v8-compile-cache keeps
// the compiled code between runs (in the OS temp folder, per Node version), so a second run starts
// sooner. Node 22's module.enableCompileCache() does the same and is used where it exists.
import * as nodeModule from 'node:module';

const enableCompileCache = (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache;
if (enableCompileCache) enableCompileCache();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only where Node has no cache of its own
else require('v8-compile-cache');

// Resolved at run time, next to this file: the bundle built from src/cli.ts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const cli = require('./dockerception.js') as typeof import('./cli');
void cli.run(process.argv.slice(2));
