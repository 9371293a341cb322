// Only activates the extension and reports how long loading and activate() took (for npm run bench).
import * as assert from 'node:assert/strict';
import { activateForTest } from './activate';

suite('activation', () => {
  test('activates and reports its activation time', async () => {
    const api = await activateForTest();
    assert.ok(api.activationMs > 0);
    console.log(`DCMETRIC|activationMs|${api.activationMs.toFixed(1)}`);
  });
});
