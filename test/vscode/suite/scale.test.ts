// For npm run bench: the Pairs view on a large workspace (made by measure-scale.ts), measured inside
// the extension host: finding the pairs with VS Code's file search against walking the folders, and
// drawing the view's rows (each pair asks the engine for its two images). Printed as DCMETRIC lines.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { findPairs } from '../../../src/core/pairs';
import { activateForTest } from './activate';
import { discoverPairs } from '../../../src/extension/tree/pair-discovery';

const RUNS = 5;

async function median(run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)];
}

suite('scale', () => {
  test('measures discovery and the view on a large workspace', async () => {
    const api = await activateForTest();
    const roots = (vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath);
    const found = await discoverPairs();
    const walked = (await Promise.all(roots.map((root) => findPairs(root)))).flat();
    assert.equal(found.length, walked.length, 'both ways find the same pairs');
    console.log(`DCMETRIC|scalePairs|${found.length}`);
    console.log(`DCMETRIC|findFilesMs|${(await median(() => discoverPairs())).toFixed(1)}`);
    console.log(`DCMETRIC|walkMs|${(await median(() => Promise.all(roots.map((root) => findPairs(root))))).toFixed(1)}`);
    const rowsMs = await median(async () => {
      api.tree.refresh();
      const nodes = await api.tree.getChildren();
      for (const node of nodes ?? []) api.tree.getTreeItem(node);
    });
    console.log(`DCMETRIC|treeRowsMs|${rowsMs.toFixed(1)}`);
  });
});
