// Runs the extension's mocha suite (test/vscode/suite) inside code-server's extension host, the way
// @vscode/test-electron does on the desktop: the workbench's `payload` names the extension under
// development and the tests module, and reports the outcome through codeAutomationExit. Each mocha test
// comes back as a DCTEST line, each measurement as a DCMETRIC line.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARTIFACTS, ROOT, launchChromium, makeFixtureWorkspace, makeMultiRootWorkspace, startCodeServer } from './code-server';

export interface SuiteOutcome {
  exitCode: number | undefined;
  results: Array<{ status: 'pass' | 'fail'; title: string; error?: string }>;
  metrics: Record<string, string>;
  log: string[];
}

export const SUITE_TIMEOUT_MS = 6 * 60_000;

/** Runs one suite in a fresh code-server window on `workspace` (default: a new fixture workspace, removed after). */
export async function runExtensionSuite(suite: 'trusted' | 'untrusted' | 'multiroot' | 'activation' | 'scale', given?: string): Promise<SuiteOutcome> {
  const workspace = given ?? (suite === 'multiroot' ? makeMultiRootWorkspace() : makeFixtureWorkspace());
  // A docker config folder of the window's own: the suite switches docker contexts in it.
  const dockerConfig = mkdtempSync(path.join(os.tmpdir(), 'dc-docker-config-'));
  const server = await startCodeServer({ name: `ext-${suite}`, trusted: suite !== 'untrusted', env: { DC_SUITE: suite, DOCKER_CONFIG: dockerConfig } });
  const browser = await launchChromium();
  const outcome: SuiteOutcome = { exitCode: undefined, results: [], metrics: {}, log: [] };
  try {
    const page = await browser.newPage();
    const exited = new Promise<number>((resolve) => {
      void page.exposeFunction('codeAutomationExit', (code: number) => resolve(code));
    });
    await page.exposeFunction('codeAutomationLog', (_level: unknown, args: unknown) => {
      const text = (Array.isArray(args) ? args : [args]).map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
      for (const line of text.split('\n')) {
        outcome.log.push(line);
        const [tag, status, title, error] = line.split('|');
        if (tag === 'DCTEST' && (status === 'pass' || status === 'fail')) outcome.results.push({ status, title, error: error && JSON.parse(error) });
        if (tag === 'DCMETRIC') outcome.metrics[status] = title;
      }
    });
    await page.goto(
      server.url(workspace, [
        ['extensionDevelopmentPath', server.remote(ROOT)],
        // The suite compiled beside this file (out/ or an engineer's own out-NAME/).
        ['extensionTestsPath', server.remote(path.join(__dirname, '..', 'vscode', 'suite', 'index'))],
      ]),
    );
    let timer: NodeJS.Timeout | undefined;
    outcome.exitCode = await Promise.race([
      exited,
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), SUITE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    mkdirSync(path.join(ARTIFACTS, 'vscode'), { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'vscode', `${suite}.png`) }).catch(() => undefined);
    return outcome;
  } finally {
    writeFileSync(path.join(ARTIFACTS, 'logs', `extension-host-${suite}.log`), outcome.log.join('\n'));
    await browser.close();
    await server.stop();
    if (!given) rmSync(workspace.endsWith('.code-workspace') ? path.dirname(workspace) : workspace, { recursive: true, force: true });
    rmSync(dockerConfig, { recursive: true, force: true });
  }
}
