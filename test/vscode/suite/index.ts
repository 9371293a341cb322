// Runs inside the VS Code extension host (code-server here, Electron VS Code through test-electron):
// the workbench calls run() and takes a rejection as a failed suite. Each result is also printed as a
// DCTEST line, so that the launcher outside can report every test by name.
import * as path from 'node:path';
import Mocha from 'mocha';

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', timeout: 120_000, color: false, reporter: 'spec' });
  const suite = process.env.DC_SUITE ?? 'trusted';
  const files: Record<string, string> = {
    trusted: 'extension.test.js',
    untrusted: 'untrusted.test.js',
    activation: 'activation.test.js',
    scale: 'scale.test.js',
    multiroot: 'multiroot.test.js',
  };
  mocha.addFile(path.join(__dirname, files[suite] ?? files.trusted));
  return new Promise((resolve, reject) => {
    const runner = mocha.run((failures) => (failures > 0 ? reject(new Error(`${failures} extension test(s) failed`)) : resolve()));
    runner.on('pass', (test) => console.log(`DCTEST|pass|${test.fullTitle()}`));
    runner.on('fail', (test, error) => console.log(`DCTEST|fail|${test.fullTitle()}|${JSON.stringify(String(error?.stack ?? error))}`));
  });
}
