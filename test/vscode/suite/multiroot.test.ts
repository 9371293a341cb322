// A multi-root workspace (made by makeMultiRootWorkspace): roots svc-a and svc-b, each with a pair in a
// folder named api; the workspace sets runtimeTag dc-mr-${name}, and svc-b's folder settings override it.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DockerceptionApi } from '../../../src/extension';
import { activateForTest } from './activate';

const TAGS = ['dc-mr-svc-a-api', 'dc-mr-b-svc-b-api'];

suite('Dockerception in a multi-root workspace', () => {
  let api: DockerceptionApi;
  /** Both pairs' images, so that a run starts (and leaves) with none. */
  async function removeTags(): Promise<void> {
    const { docker } = await api.builds.connect();
    for (const tag of TAGS.flatMap((t) => [t, `${t}-builder`])) {
      await docker
        .getImage(tag)
        .remove()
        .catch(() => undefined);
    }
  }
  suiteSetup(async () => {
    api = await activateForTest();
    await removeTags();
  });

  suiteTeardown(removeTags);

  test('two roots, one folder name: the pairs are told apart by their roots', async () => {
    assert.equal(vscode.workspace.workspaceFolders?.length, 2);
    const labels = (await api.tree.getChildren()).map((node) => String(api.tree.getTreeItem(node).label));
    assert.deepEqual(labels, ['svc-a-api', 'svc-b-api']);
  });

  test("each pair builds with its own folder's settings, to its own tag, and shows only its own images", async () => {
    const pairs = await api.tree.pairs();
    const [a, b] = [pairs.find((p) => p.name === 'svc-a-api'), pairs.find((p) => p.name === 'svc-b-api')];
    assert.ok(a && b);
    const built = await api.builds.build(a);
    assert.equal(built?.ok, true, built?.error?.message);
    assert.equal(built?.runtime?.tag, 'dc-mr-svc-a-api', 'the workspace setting');
    const rows = (await api.tree.getChildren()).map((node) => api.tree.getTreeItem(node));
    assert.match(String(rows[0].description), /^[\d.]+ (?:B|kB|MB) ← [\d.]+ MB/);
    assert.equal(rows[1].description, 'not built yet', 'svc-b-api does not show svc-a-api’s images');
    const other = await api.builds.build(b);
    assert.equal(other?.ok, true, other?.error?.message);
    assert.equal(other?.runtime?.tag, 'dc-mr-b-svc-b-api', "svc-b's folder setting");
    const { docker } = await api.builds.connect();
    const ids = await Promise.all(TAGS.map(async (tag) => (await docker.getImage(tag).inspect()).Id));
    assert.notEqual(ids[0], ids[1], 'two images, neither overwritten');
  });

  test('the output says which pair, tag and folder each build is', async () => {
    assert.match(api.outputLines.join('\n'), /Building svc-b-api → dc-mr-b-svc-b-api {2}\(.*svc-b\/api\)/);
  });
});
