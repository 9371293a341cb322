// The same extension-host suite on desktop VS Code through @vscode/test-electron, for machines that can
// download VS Code (or have one: set VSCODE_EXECUTABLE to skip the download). It cannot run on this
// project's CI machine, which has no way to fetch an Electron build; there code-server runs the suite.
import * as path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { ROOT, makeFixtureWorkspace } from '../support/code-server';

async function main(): Promise<void> {
  const workspace = makeFixtureWorkspace();
  for (const suite of ['trusted', 'untrusted']) {
    await runTests({
      extensionDevelopmentPath: ROOT,
      extensionTestsPath: path.join(ROOT, 'out', 'test', 'vscode', 'suite', 'index'),
      vscodeExecutablePath: process.env.VSCODE_EXECUTABLE,
      launchArgs: [workspace, '--disable-extensions', ...(suite === 'trusted' ? ['--disable-workspace-trust'] : [])],
      extensionTestsEnv: { DC_SUITE: suite },
    });
  }
}

main().catch((error) => {
  console.error(`test:electron failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
