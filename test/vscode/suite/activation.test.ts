// Only activates the extension and reports how long loading and activate() took (for npm run bench).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DockerceptionApi } from '../../../src/extension';

suite('activation', () => {
  test('activates and reports its activation time', async () => {
    const extension = vscode.extensions.getExtension<DockerceptionApi>('dockerception.dockerception');
    assert.ok(extension);
    const api = await extension.activate();
    assert.ok(api, 'under test (ExtensionMode.Test) the extension hands out its test API');
    assert.ok(api.activationMs > 0);
    console.log(`DCMETRIC|activationMs|${api.activationMs.toFixed(1)}`);
  });
});
