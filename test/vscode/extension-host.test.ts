// The extension inside a real VS Code (code-server), one node:test test per mocha test of the suite.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SUITE_TIMEOUT_MS, runExtensionSuite } from '../support/extension-host';

describe('the extension inside a real VS Code (code-server)', { timeout: 2 * SUITE_TIMEOUT_MS }, () => {
  for (const suite of ['trusted', 'untrusted', 'multiroot'] as const) {
    it(`${suite} workspace suite`, async (t) => {
      const outcome = await runExtensionSuite(suite);
      for (const result of outcome.results) {
        await t.test(result.title, () => {
          if (result.status === 'fail') assert.fail(result.error);
        });
      }
      const tail = outcome.log.slice(-30).join('\n');
      assert.notEqual(outcome.exitCode, undefined, `the extension host never reported back; last log lines:\n${tail}`);
      assert.ok(outcome.results.length >= (suite === 'trusted' ? 8 : suite === 'multiroot' ? 3 : 2), `only ${outcome.results.length} tests reported:\n${tail}`);
      assert.equal(outcome.exitCode, 0, `the suite failed:\n${tail}`);
      if (outcome.metrics.activationMs) t.diagnostic(`activation ${outcome.metrics.activationMs} ms in VS Code ${outcome.metrics.vscodeVersion}`);
    });
  }
});
