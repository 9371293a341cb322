// The extension in a real VS Code (code-server 1.100.3 here) against the real engine. The fixture
// workspace (made by the launcher) holds the pairs `quick` (a fast busybox builder) and `slow` (a builder
// that never ends), and sets dockerception.runtimeTag to dc-vscode-${name}.
import * as assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DockerceptionApi } from '../../../src/extension';
import { LABEL_RUN, type Pair } from '../../../src/core';
import type { PairItem, PairsTreeNode } from '../../../src/extension/tree';

const EXTENSION_ID = 'dockerception.dockerception';
let api: DockerceptionApi;

function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the launcher opens a fixture folder');
  return folder.uri.fsPath;
}

async function pairItems(): Promise<PairItem[]> {
  const items = await api.tree.getChildren();
  // (Not instanceof: this file and the extension's bundle load separate copies of the classes.)
  return items.filter((item): item is PairItem => String(item.contextValue).startsWith('pair'));
}

async function pairNamed(name: string): Promise<Pair> {
  const pair = (await api.tree.pairs()).find((p) => p.name === name);
  assert.ok(pair, `pair ${name} is in the tree`);
  return pair;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function engineState(tag: string): Promise<{ containers: number; tagged: boolean }> {
  const { docker } = await api.builds.connect();
  const containers = await docker.listContainers({ all: true, filters: { label: [LABEL_RUN] } });
  const tagged = await docker
    .getImage(tag)
    .inspect()
    .then(() => true)
    .catch(() => false);
  return { containers: containers.length, tagged };
}

suite('Dockerception in VS Code', () => {
  suiteSetup(async () => {
    const extension = vscode.extensions.getExtension<DockerceptionApi>(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is installed`);
    api = await extension.activate();
    console.log(`DCMETRIC|activationMs|${api.activationMs.toFixed(1)}`);
    console.log(`DCMETRIC|vscodeVersion|${vscode.version}`);
    // Images an earlier run tagged would show as built: start from none.
    const { docker } = await api.builds.connect();
    for (const name of ['quick', 'slow', 'broken', 'created-later', 'kit', 'doctor']) {
      for (const tag of [`dc-vscode-${name}`, `dc-vscode-${name}-builder`])
        await docker
          .getImage(tag)
          .remove()
          .catch(() => undefined);
    }
    api.tree.refresh();
  });

  test('registers every command', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of [
      'dockerception.build',
      'dockerception.buildPair',
      'dockerception.refresh',
      'dockerception.showOutput',
      'dockerception.cancelBuild',
      'dockerception.runRuntimeImage',
      'dockerception.openBuilderDockerfile',
      'dockerception.openRuntimeDockerfile',
      'dockerception.copyImageTag',
      'dockerception.removeImages',
      'dockerception.createExamplePair',
    ]) {
      assert.ok(all.includes(id), `${id} is registered`);
    }
  });

  test('the tree shows the fixture workspace pairs', async () => {
    const items = await pairItems();
    assert.deepEqual(
      items.map((item) => item.label),
      ['quick', 'slow'],
    );
    assert.equal(items[0].contextValue, 'pair');
    assert.equal(items[0].description, 'not built yet');
  });

  test('"Dockerception: Build" builds the pair of the active editor; tree, status bar and output show the sizes', async () => {
    const quick = await pairNamed('quick');
    await vscode.window.showTextDocument(vscode.Uri.file(quick.runtimeDockerfile));
    const record = await vscode.commands.executeCommand<{
      ok: boolean;
      builder?: { size: number };
      runtime?: { size: number; tag: string };
      error?: { message: string };
    }>('dockerception.build');
    assert.ok(record, 'the command resolves to the build record');
    assert.equal(record.ok, true, record.error?.message);
    assert.equal(record.runtime?.tag, 'dc-vscode-quick');
    assert.ok((record.builder?.size ?? 0) > (record.runtime?.size ?? Infinity), 'builder larger than runtime');

    const item = (await pairItems()).find((i) => i.label === 'quick');
    assert.match(String(item?.description), /^builder [\d.]+ MB → runtime \d+ B \(\d+× smaller\)$/);
    assert.equal(item?.contextValue, 'pair.built');
    const children = (await api.tree.getChildren(item)) as PairsTreeNode[];
    assert.deepEqual(
      children.map((c) => c.label),
      ['builder', 'runtime', 'last build'],
    );
    assert.match(String(children[1].description), /^\d+ B · dc-vscode-quick$/);

    assert.match(api.statusBar.item.text, /^\$\(package\) builder [\d.]+ MB → runtime \d+ B$/);
    const out = api.output.recent.join('\n');
    assert.match(out, /==> Building the builder image dc-vscode-quick-builder:latest/);
    assert.match(out, /\[runtime 2\/\d+\] COPY hello\.txt \/hello\.txt/);
    assert.match(out, /^\s+size\s+[\d.]+ MB\s+\d+ B\s+\d+× smaller$/m);
    assert.deepEqual(await engineState('dc-vscode-quick'), { containers: 0, tagged: true });
  });

  test('Show Report opens the size report with the numbers of the real build', async () => {
    const quick = await pairNamed('quick');
    await vscode.commands.executeCommand('dockerception.showReport', quick);
    const panel = api.reports.panels.get(quick.dir);
    assert.ok(panel, 'a report panel is open for quick');
    const html = await until('the report to render', () => (panel.webview.html.includes('where the bytes are') ? panel.webview.html : undefined));
    const runtime = api.builds.last(quick)?.runtime;
    assert.ok(runtime);
    assert.match(html, /<h1>quick: where the bytes are<\/h1>/);
    assert.match(html, /COPY file:[0-9a-f]+ in \/hello\.txt/);
    assert.match(html, /<td class="num">17 B<\/td><td><code>\/hello\.txt<\/code>/);
    assert.match(html, /Runtime Dockerfile from the builder's output/);
    assert.match(html, /Runtime image: \d+ B now, .* over 1 build/);
    assert.match(html, /default-src 'none'/);
    panel.dispose();
  });

  test('Open Builder / Runtime Dockerfile and Run Runtime Image act on the pair of a tree item', async () => {
    const item = (await pairItems()).find((i) => i.label === 'quick');
    assert.ok(item);
    await vscode.commands.executeCommand('dockerception.openBuilderDockerfile', item);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, item.pair.builderDockerfile);
    await vscode.commands.executeCommand('dockerception.openRuntimeDockerfile', item);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, item.pair.runtimeDockerfile);
    const before = vscode.window.terminals.length;
    await vscode.commands.executeCommand('dockerception.runRuntimeImage', item);
    const terminal = await until('the run terminal', () => vscode.window.terminals.find((t) => t.name === 'Dockerception: quick'));
    assert.equal(vscode.window.terminals.length, before + 1);
    terminal.dispose();
  });

  test('asking for a build that is running reveals it instead of starting another', async () => {
    const slow = await pairNamed('slow');
    const first = api.builds.build(slow);
    await until('the slow builder to run', () => api.builds.phaseOf(slow) === 'builder-run');
    const second = api.builds.build(slow);
    assert.equal(second, first, 'the same build is returned');
    await vscode.commands.executeCommand('dockerception.cancelBuild', slow);
    const record = await first;
    assert.equal(record?.error?.code, 'CANCELLED');
  });

  test('Cancel Build stops a running build: no container left, nothing tagged', async () => {
    const slow = await pairNamed('slow');
    const done = vscode.commands.executeCommand<{ ok: boolean; error?: { code: string } }>('dockerception.buildPair', vscode.Uri.file(slow.builderDockerfile));
    await until('the slow builder to run', () => api.builds.phaseOf(slow) === 'builder-run');
    assert.match(api.statusBar.item.text, /^\$\(sync~spin\) slow: builder run/);
    await vscode.commands.executeCommand('dockerception.cancelBuild');
    const record = await done;
    assert.equal(record?.ok, false);
    assert.equal(record?.error?.code, 'CANCELLED');
    assert.deepEqual(await engineState('dc-vscode-slow'), { containers: 0, tagged: false });
    assert.match(api.statusBar.item.text, /slow: cancelled/);
  });

  test('two different pairs build at once', async () => {
    const [quick, slow] = [await pairNamed('quick'), await pairNamed('slow')];
    const slowDone = api.builds.build(slow);
    await until('the slow builder to run', () => api.builds.phaseOf(slow) === 'builder-run');
    const quickRecord = await api.builds.build(quick);
    assert.equal(quickRecord?.ok, true, quickRecord?.error?.message);
    assert.ok(api.builds.isRunning(slow), 'slow is still building while quick finished');
    api.builds.cancel(slow);
    assert.equal((await slowDone)?.error?.code, 'CANCELLED');
  });

  test('a new pair created on disk appears in the tree', async () => {
    // Written at once, as a copy or a git checkout would: the watcher may report only the folder.
    const dir = path.join(workspaceDir(), 'created-later');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox:1.36\nCMD ["tar", "-cf", "-", "-C", "/etc", "passwd"]\n');
    writeFileSync(path.join(dir, 'Dockerfile.run'), 'FROM scratch\nCOPY passwd /passwd\n');
    await until('created-later in the tree', async () => (await pairItems()).some((item) => item.label === 'created-later'), 20_000);
    // And deleting the folder as a whole takes it out again.
    rmSync(dir, { recursive: true, force: true });
    await until('created-later gone from the tree', async () => !(await pairItems()).some((item) => item.label === 'created-later'), 20_000);
  });

  test('a BuildKit pair builds from a right-click: the output says BuildKit and why, and shows its steps', async () => {
    const dir = path.join(workspaceDir(), 'kit');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'Dockerfile'),
      'FROM busybox:1.36\nRUN --mount=type=cache,id=dc-vscode-kit,target=/cache mkdir -p /o && date > /cache/last && echo kit > /o/kit.txt\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n',
    );
    writeFileSync(path.join(dir, 'Dockerfile.run'), 'FROM scratch\nCOPY --chmod=0600 kit.txt /kit.txt\n');
    api.tree.refresh();
    const kit = await until('kit in the tree', async () => (await api.tree.pairs()).find((p) => p.name === 'kit'));
    const record = await vscode.commands.executeCommand<{ ok: boolean; error?: { message: string } }>(
      'dockerception.buildPair',
      vscode.Uri.file(kit.builderDockerfile),
    );
    assert.equal(record?.ok, true, record?.error?.message);
    const out = api.output.recent.join('\n');
    assert.match(out, /==> Building with BuildKit: the builder Dockerfile uses RUN --mount/);
    // BuildKit may prefix a step with its stage's name (stage-0 for an unnamed one).
    assert.match(out, /\[builder (stage-0 )?2\/2\] RUN --mount=type=cache,id=dc-vscode-kit,target=\/cache mkdir -p \/o/);
    assert.match(out, /\[runtime 1\/1\] COPY --chmod=0600 kit\.txt \/kit\.txt/);
    assert.deepEqual(await engineState('dc-vscode-kit'), { containers: 0, tagged: true });
    rmSync(dir, { recursive: true, force: true });
  });

  test('the doctor: a dynamically linked binary on scratch is named in the output, the notification and the report; a second build shows what grew', async () => {
    const dir = path.join(workspaceDir(), 'doctor');
    mkdirSync(dir, { recursive: true });
    // /bin/ls of a Debian image is dynamically linked; the padding file is what grows between builds.
    const builder = (padding: number) =>
      `FROM gcc:12\nRUN mkdir /o && cp /bin/ls /o/app && head -c ${padding} /dev/zero > /o/padding\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n`;
    writeFileSync(path.join(dir, 'Dockerfile'), builder(1000));
    writeFileSync(path.join(dir, 'Dockerfile.run'), 'FROM scratch\nCOPY app padding /\nENTRYPOINT ["/app"]\n');
    api.tree.refresh();
    const pair = await until('doctor in the tree', async () => (await api.tree.pairs()).find((p) => p.name === 'doctor'));
    const first = await api.builds.build(pair);
    assert.equal(first?.ok, true, first?.error?.message);
    assert.deepEqual(
      first?.doctor?.map((f) => f.code),
      ['MISSING_LOADER'],
    );
    assert.match(
      api.output.recent.join('\n'),
      /doctor: error MISSING_LOADER: \/app is dynamically linked: it needs the loader \/lib64\/ld-linux-x86-64\.so\.2/,
    );

    writeFileSync(path.join(dir, 'Dockerfile'), builder(2_500_000));
    const second = await api.builds.build(pair);
    assert.equal(second?.ok, true, second?.error?.message);
    assert.match(api.output.recent.join('\n'), /Since the build of .*: \+2\.5 MB\n\s+\+2\.5 MB\s+\/padding \(grown\)/);

    await vscode.commands.executeCommand('dockerception.showReport', pair);
    const panel = api.reports.panels.get(pair.dir);
    assert.ok(panel);
    const html = await until('the report with its doctor section', () => (panel.webview.html.includes('id="doctor"') ? panel.webview.html : undefined));
    assert.match(html, /<tr class="error"><td>error<\/td><td><code>MISSING_LOADER<\/code><\/td><td><code>\/app<\/code><\/td>/);
    assert.match(html, /<h2 id="what-grew">What grew<\/h2>\n<p>Since the build of .*<strong>\+2\.5 MB<\/strong> in all/);
    assert.match(html, /<td class="num grew">\+2\.5 MB<\/td><td><code>\/padding<\/code><\/td><td>grown<\/td>/);
    panel.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a failing build says what happened in the output and the status bar, and tags nothing', async () => {
    const dir = path.join(workspaceDir(), 'broken');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM busybox:1.36\nCMD ["sh", "-c", "echo not a tar; echo oops >&2; exit 3"]\n');
    writeFileSync(path.join(dir, 'Dockerfile.run'), 'FROM scratch\n');
    api.tree.refresh();
    const broken = await pairNamed('broken');
    const record = await api.builds.build(broken);
    assert.equal(record?.error?.code, 'BUILDER_EXIT');
    assert.match(api.statusBar.item.text, /^\$\(error\) broken: BUILDER_EXIT$/);
    assert.equal(api.statusBar.item.command, 'dockerception.showOutput');
    assert.match(api.output.recent.join('\n'), /✖ BUILDER_EXIT \(builder-run\): The builder container exited with code 3[\s\S]*oops/);
    assert.deepEqual(await engineState('dc-vscode-broken'), { containers: 0, tagged: false });
  });
});
