// Launches the extension's own test suite (test/vscode/suite) inside code-server's extension host, the
// way @vscode/test-electron does on the desktop: the workbench's `payload` names the extension under
// development and the tests module, and reports the outcome through codeAutomationExit. Each mocha
// test comes back as a DCTEST line and is reported here as a test of its own.
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ARTIFACTS, ROOT, launchChromium, makeFixtureWorkspace, startCodeServer } from '../support/code-server';

interface SuiteOutcome {
  exitCode: number | undefined;
  results: Array<{ status: 'pass' | 'fail'; title: string; error?: string }>;
  metrics: Record<string, string>;
  log: string[];
}

const SUITE_TIMEOUT_MS = 6 * 60_000;

export async function runExtensionSuite(suite: 'trusted' | 'untrusted'): Promise<SuiteOutcome> {
  const workspace = makeFixtureWorkspace();
  const server = await startCodeServer({ name: `ext-${suite}`, trusted: suite === 'trusted', env: { DC_SUITE: suite } });
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
        ['extensionTestsPath', server.remote(path.join(ROOT, 'out', 'test', 'vscode', 'suite', 'index'))],
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
    rmSync(workspace, { recursive: true, force: true });
  }
}

describe('the extension inside a real VS Code (code-server)', { timeout: 2 * SUITE_TIMEOUT_MS }, () => {
  for (const suite of ['trusted', 'untrusted'] as const) {
    it(`${suite} workspace suite`, async (t) => {
      const outcome = await runExtensionSuite(suite);
      for (const result of outcome.results) {
        await t.test(result.title, () => {
          if (result.status === 'fail') assert.fail(result.error);
        });
      }
      const tail = outcome.log.slice(-30).join('\n');
      assert.notEqual(outcome.exitCode, undefined, `the extension host never reported back; last log lines:\n${tail}`);
      assert.ok(outcome.results.length >= (suite === 'trusted' ? 8 : 2), `only ${outcome.results.length} tests reported:\n${tail}`);
      assert.equal(outcome.exitCode, 0, `the suite failed:\n${tail}`);
      if (outcome.metrics.activationMs) t.diagnostic(`activation ${outcome.metrics.activationMs} ms in VS Code ${outcome.metrics.vscodeVersion}`);
    });
  }
});
