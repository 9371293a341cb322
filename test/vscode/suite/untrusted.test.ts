// The same fixture opened with workspace trust on and the folder not trusted (Restricted Mode).
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DockerceptionApi } from '../../../src/extension';
import { activateForTest } from './activate';

suite('Dockerception in Restricted Mode', () => {
  let api: DockerceptionApi;
  suiteSetup(async () => {
    api = await activateForTest();
  });

  test('the workspace is untrusted, and the tree still lists the pairs', async () => {
    assert.equal(vscode.workspace.isTrusted, false);
    const items = await api.tree.getChildren();
    assert.ok(items.length >= 2, `the tree lists the pairs (${items.length})`);
  });

  test('building is disabled: the command starts nothing', async () => {
    const pair = (await api.tree.pairs()).find((p) => p.name === 'quick');
    assert.ok(pair);
    const result = await vscode.commands.executeCommand('dockerception.buildPair', vscode.Uri.file(pair.builderDockerfile));
    assert.equal(result, undefined);
    assert.equal(api.builds.isRunning(pair), false);
    assert.equal(api.builds.last(pair), undefined, 'no build was recorded');
  });
});
