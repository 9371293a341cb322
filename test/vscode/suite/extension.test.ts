// The extension in a real VS Code (code-server 1.100.3 here) against the real engine. The fixture
// workspace (made by the launcher) holds the pairs `quick` (a fast busybox builder) and `slow` (a builder
// that never ends), and sets dockerception.runtimeTag to dc-vscode-${name}.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { DockerceptionApi } from '../../../src/extension';
import { activateForTest, EXTENSION_ID } from './activate';
import { LABEL_RUN, type Pair } from '../../../src/core';
import type { PairNode, PairsTreeNode } from '../../../src/extension/tree';

let api: DockerceptionApi;

function workspaceDir(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the launcher opens a fixture folder');
  return folder.uri.fsPath;
}

/** Writes a pair into the fixture workspace (folder relative to it) and returns its folder. */
function writePair(relative: string, builder: string, runtime: string): string {
  const dir = path.join(workspaceDir(), relative);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'Dockerfile'), builder);
  writeFileSync(path.join(dir, 'Dockerfile.run'), runtime);
  return dir;
}

interface Row {
  node: PairsTreeNode;
  item: vscode.TreeItem;
  label: string;
}

/** The view's top-level rows as VS Code draws them: each node and the item the provider makes of it. */
async function rows(parent?: PairsTreeNode): Promise<Row[]> {
  const nodes = (await api.tree.getChildren(parent)) ?? [];
  return nodes.map((node) => {
    const item = api.tree.getTreeItem(node) as vscode.TreeItem;
    return { node, item, label: String(item.label) };
  });
}

async function pairRows(): Promise<Array<Row & { node: PairNode }>> {
  return (await rows()).filter((row): row is Row & { node: PairNode } => row.node.kind === 'pair');
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
  // Builder containers of this pair's builder image only: the engine is shared with other suites and the
  // bench, whose builder containers carry the same label. Without that image, every labelled container.
  const containers = await docker
    .listContainers({ all: true, filters: { label: [LABEL_RUN], ancestor: [`${tag}-builder`] } })
    .catch(() => docker.listContainers({ all: true, filters: { label: [LABEL_RUN] } }));
  const tagged = await docker
    .getImage(tag)
    .inspect()
    .then(() => true)
    .catch(() => false);
  return { containers: containers.length, tagged };
}

suite('Dockerception in VS Code', () => {
  suiteSetup(async () => {
    api = await activateForTest();
    console.log(`DCMETRIC|activationMs|${api.activationMs.toFixed(1)}`);
    console.log(`DCMETRIC|vscodeVersion|${vscode.version}`);
    // Images an earlier run tagged would show as built: start from none.
    const { docker } = await api.builds.connect();
    for (const name of [
      'quick',
      'slow',
      'broken',
      'created-later',
      'kit',
      'doctor',
      'slow-too',
      'twins-a-api',
      'twins-b-api',
      'shared',
      'all-base',
      'all-app',
    ]) {
      for (const tag of [`dc-vscode-${name}`, `dc-vscode-${name}-builder`])
        await docker
          .getImage(tag)
          .remove()
          .catch(() => undefined);
    }
    api.tree.refresh();
  });

  test('registers every command the manifest declares, and declares every command it registers', async () => {
    const all = await vscode.commands.getCommands(true);
    const declared = (vscode.extensions.getExtension(EXTENSION_ID)?.packageJSON.contributes.commands as Array<{ command: string }>).map((c) => c.command);
    assert.ok(declared.length >= 14, `${declared.length} commands declared`);
    for (const id of declared) assert.ok(all.includes(id), `${id} is registered`);
    assert.deepEqual(
      // (dockerception.pairs.* are the commands VS Code makes for the view itself.)
      all.filter((id) => id.startsWith('dockerception.') && !id.startsWith('dockerception.pairs.')).sort(),
      [...declared].sort(),
    );
  });

  test('the tree shows the fixture workspace pairs', async () => {
    const items = await pairRows();
    assert.deepEqual(
      items.map((row) => row.label),
      ['quick', 'slow'],
    );
    assert.equal(items[0].item.contextValue, 'pair');
    assert.equal(items[0].item.description, 'not built yet');
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

    const row = (await pairRows()).find((r) => r.label === 'quick');
    assert.ok(row);
    // The runtime size first; the doctor's error (below) on the row too.
    assert.match(String(row.item.description), /^\d+ B ← [\d.]+ MB · cannot start$/);
    assert.equal(row.item.contextValue, 'pair.built');
    const children = await rows(row.node);
    assert.deepEqual(
      children.map((c) => c.label),
      ['builder', 'runtime', 'last build'],
    );
    assert.match(String(children[1].item.description), /^\d+ B · dc-vscode-quick:latest$/, 'tagged as the engine lists it, like the builder');

    // The fixture's runtime image has no command: the doctor's error shows, with the pair's name.
    assert.match(api.statusBar.text, /^\$\(warning\) quick: builder [\d.]+ MB → runtime \d+ B · cannot start$/);
    const out = api.outputLines.join('\n');
    assert.match(out, /==> Building the builder image dc-vscode-quick-builder:latest/);
    assert.match(out, /\[runtime 2\/\d+\] COPY hello\.txt \/hello\.txt/);
    assert.match(out, /^\s+size\s+[\d.]+ MB\s+\d+ B\s+\d+× smaller$/m);
    assert.deepEqual(await engineState('dc-vscode-quick'), { containers: 0, tagged: true });
  });

  test('Show Report opens the size report with the numbers of the real build', async () => {
    const quick = await pairNamed('quick');
    const panel = await vscode.commands.executeCommand<vscode.WebviewPanel | undefined>('dockerception.showReport', quick);
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
    // A menu command receives the tree's node, as VS Code passes it.
    const node = (await pairRows()).find((r) => r.label === 'quick')?.node;
    assert.ok(node);
    await vscode.commands.executeCommand('dockerception.openBuilderDockerfile', node);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, node.pair.builderDockerfile);
    await vscode.commands.executeCommand('dockerception.openRuntimeDockerfile', node);
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, node.pair.runtimeDockerfile);
    const before = vscode.window.terminals.length;
    await vscode.commands.executeCommand('dockerception.runRuntimeImage', node);
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
    assert.match(api.statusBar.text, /^\$\(sync~spin\) slow: builder run/);
    await vscode.commands.executeCommand('dockerception.cancelBuild');
    const record = await done;
    assert.equal(record?.ok, false);
    assert.equal(record?.error?.code, 'CANCELLED');
    assert.deepEqual(await engineState('dc-vscode-slow'), { containers: 0, tagged: false });
    assert.match(api.statusBar.text, /slow: cancelled/);
  });

  test('stopAll (what deactivate runs) returns only once the builder container is removed', async () => {
    const slow = await pairNamed('slow');
    const done = api.builds.build(slow);
    await until('the slow builder to run', () => api.builds.phaseOf(slow) === 'builder-run');
    // The phase is announced just before the container is created: wait for the container itself.
    await until('the builder container', async () => ((await engineState('dc-vscode-slow')).containers === 1 ? true : undefined));
    await api.builds.stopAll(10_000);
    assert.deepEqual(await engineState('dc-vscode-slow'), { containers: 0, tagged: false }, 'removed before stopAll returned');
    assert.equal((await done)?.error?.code, 'CANCELLED');
  });

  test('two different pairs build at once; their output lines say whose they are', async () => {
    const [quick, slow] = [await pairNamed('quick'), await pairNamed('slow')];
    const slowDone = api.builds.build(slow);
    await until('the slow builder to run', () => api.builds.phaseOf(slow) === 'builder-run');
    const quickRecord = await api.builds.build(quick, { force: true });
    assert.equal(quickRecord?.ok, true, quickRecord?.error?.message);
    assert.ok(api.builds.isRunning(slow), 'slow is still building while quick finished');
    assert.match(api.outputLines.join('\n'), /^\[quick\] ==> Running dc-vscode-quick-builder:latest/m);
    api.builds.cancel(slow);
    assert.equal((await slowDone)?.error?.code, 'CANCELLED');
  });

  test("Cancel Build with two builds running cancels the active editor's pair only", async () => {
    const dir = writePair('slow-too', 'FROM busybox:1.36\nCMD ["sh", "-c", "sleep 600"]\n', 'FROM scratch\n');
    api.tree.refresh();
    const [slow, slowToo] = [
      await pairNamed('slow'),
      await until('slow-too in the tree', async () => (await api.tree.pairs()).find((p) => p.name === 'slow-too')),
    ];
    const done = [api.builds.build(slow), api.builds.build(slowToo)];
    await until('both builders to run', () => api.builds.phaseOf(slow) === 'builder-run' && api.builds.phaseOf(slowToo) === 'builder-run');
    await vscode.window.showTextDocument(vscode.Uri.file(slowToo.runtimeDockerfile));
    await vscode.commands.executeCommand('dockerception.cancelBuild');
    assert.equal((await done[1])?.error?.code, 'CANCELLED');
    assert.ok(api.builds.isRunning(slow), 'the other build goes on');
    api.builds.cancel(slow);
    await done[0];
    assert.deepEqual(await engineState('dc-vscode-slow-too'), { containers: 0, tagged: false });
    rmSync(dir, { recursive: true, force: true });
  });

  test('pairs with the same folder name get names and tags of their own; a shared runtimeTag is refused, not overwritten', async () => {
    for (const side of ['a', 'b']) {
      writePair(
        path.join('twins', side, 'api'),
        `FROM busybox:1.36\nRUN mkdir /o && echo ${side} > /o/side.txt\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n`,
        'FROM scratch\nCOPY side.txt /\n',
      );
    }
    api.tree.refresh();
    const names = await until('both twins in the tree', async () => {
      const labels = (await pairRows()).map((r) => r.label).filter((l) => l.endsWith('api'));
      return labels.length === 2 ? labels : undefined;
    });
    assert.deepEqual(names, ['twins-a-api', 'twins-b-api'], 'named from the workspace folder, as the CLI names them');
    const a = await pairNamed('twins-a-api');
    const record = await api.builds.build(a);
    assert.equal(record?.runtime?.tag, 'dc-vscode-twins-a-api');
    const b = (await pairRows()).find((r) => r.label === 'twins-b-api');
    assert.equal(b?.item.description, 'not built yet', 'twins-b-api shows only its own images');

    const config = vscode.workspace.getConfiguration('dockerception', vscode.Uri.file(a.dir));
    await config.update('runtimeTag', 'dc-vscode-shared', vscode.ConfigurationTarget.WorkspaceFolder);
    try {
      const refused = await vscode.commands.executeCommand('dockerception.buildPair', vscode.Uri.file(a.builderDockerfile));
      assert.equal(refused, undefined, 'nothing is built');
      assert.equal((await engineState('dc-vscode-shared')).tagged, false);
    } finally {
      await config.update('runtimeTag', 'dc-vscode-${name}', vscode.ConfigurationTarget.WorkspaceFolder);
    }
    rmSync(path.join(workspaceDir(), 'twins'), { recursive: true, force: true });
  });

  test('shows which engine it talks to and why, and follows the setting and `docker context use` without a reload', async () => {
    const tooltip = () => {
      const value = api.statusBar.tooltip;
      return value instanceof vscode.MarkdownString ? value.value : String(value);
    };
    // The launcher gives this window a docker config folder of its own (DOCKER_CONFIG).
    const configDir = process.env.DOCKER_CONFIG;
    assert.ok(configDir, 'the launcher sets DOCKER_CONFIG');
    const docker = (...args: string[]) => execFileSync('docker', args, { env: process.env, encoding: 'utf8' });
    assert.match(api.engine.describe(), /^unix:\/\/\/var\/run\/docker\.sock \(from the default/);
    assert.match(tooltip(), /Engine: `?unix:\/\/\/var\/run\/docker\.sock \(from the default/);

    const config = vscode.workspace.getConfiguration('dockerception');
    await config.update('host', 'unix:///var/run/docker.sock', vscode.ConfigurationTarget.Workspace);
    try {
      await until('the setting named in the status bar', () => /from the dockerception\.host setting/.test(tooltip()));
      assert.equal((await api.builds.connect()).address.source, 'setting');
    } finally {
      await config.update('host', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await until('the default again', () => /from the default/.test(tooltip()));

    docker('context', 'create', 'dc-ext', '--docker', 'host=unix:///var/run/docker.sock');
    try {
      docker('context', 'use', 'dc-ext');
      await until('the context named in the status bar', () => /from the docker context 'dc-ext'/.test(tooltip()));
      assert.equal((await api.builds.connect()).address.source, 'context dc-ext', 'the next connection goes through the context');
    } finally {
      docker('context', 'use', 'default');
      docker('context', 'rm', 'dc-ext');
    }
    await until('the default after `docker context use default`', () => /from the default/.test(tooltip()));
    assert.equal((await api.builds.connect()).address.source, 'default');
  });

  test('an unreachable engine keeps the pairs listed, with the reason on top, in words for VS Code', async () => {
    const config = vscode.workspace.getConfiguration('dockerception');
    await config.update('host', 'unix:///nonexistent/dockerception.sock', vscode.ConfigurationTarget.Workspace);
    try {
      api.tree.refresh();
      const all = await until('the engine row', async () => {
        const current = await rows();
        return current[0]?.node.kind === 'engine' ? current : undefined;
      });
      assert.equal(all[0].label, 'Docker engine unreachable');
      const tooltip = (all[0].item.tooltip as vscode.MarkdownString).value;
      assert.match(tooltip, /unix:\/\/\/nonexistent\/dockerception\.sock.*It comes from the dockerception\.host setting/);
      assert.doesNotMatch(tooltip, /--host|npm run/);
      assert.equal(all[0].item.command?.command, 'dockerception.refresh');
      assert.deepEqual(
        all.slice(1).map((r) => [r.label, r.item.description]),
        (await api.tree.pairs()).map((p) => [p.name, 'engine unreachable']),
      );
    } finally {
      await config.update('host', undefined, vscode.ConfigurationTarget.Workspace);
      api.builds.resetConnection();
      api.tree.refresh();
    }
  });

  test('a new pair created on disk appears in the tree', async () => {
    // Written at once, as a copy or a git checkout would: the watcher may report only the folder.
    const dir = writePair('created-later', 'FROM busybox:1.36\nCMD ["tar", "-cf", "-", "-C", "/etc", "passwd"]\n', 'FROM scratch\nCOPY passwd /passwd\n');
    await until('created-later in the tree', async () => (await pairRows()).some((row) => row.label === 'created-later'), 20_000);
    // And deleting the folder as a whole takes it out again.
    rmSync(dir, { recursive: true, force: true });
    await until('created-later gone from the tree', async () => !(await pairRows()).some((row) => row.label === 'created-later'), 20_000);
  });

  test('a BuildKit pair builds from a right-click: the output says BuildKit and why, and shows its steps', async () => {
    const dir = writePair(
      'kit',
      'FROM busybox:1.36\nRUN --mount=type=cache,id=dc-vscode-kit,target=/cache mkdir -p /o && date > /cache/last && echo kit > /o/kit.txt\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n',
      'FROM scratch\nCOPY --chmod=0600 kit.txt /kit.txt\n',
    );
    api.tree.refresh();
    const kit = await until('kit in the tree', async () => (await api.tree.pairs()).find((p) => p.name === 'kit'));
    const record = await vscode.commands.executeCommand<{ ok: boolean; error?: { message: string } }>(
      'dockerception.buildPair',
      vscode.Uri.file(kit.builderDockerfile),
    );
    assert.equal(record?.ok, true, record?.error?.message);
    const out = api.outputLines.join('\n');
    assert.match(out, /==> Building with BuildKit: the builder Dockerfile uses RUN --mount/);
    // BuildKit may prefix a step with its stage's name (stage-0 for an unnamed one).
    assert.match(out, /\[builder (stage-0 )?2\/2\] RUN --mount=type=cache,id=dc-vscode-kit,target=\/cache mkdir -p \/o/);
    assert.match(out, /\[runtime 1\/1\] COPY --chmod=0600 kit\.txt \/kit\.txt/);
    assert.deepEqual(await engineState('dc-vscode-kit'), { containers: 0, tagged: true });
    rmSync(dir, { recursive: true, force: true });
  });

  test('the doctor: a dynamically linked binary on scratch is named in the output, the notification and the report; a second build shows what grew', async () => {
    // /bin/ls of a Debian image is dynamically linked; the padding file is what grows between builds.
    const builder = (padding: number) =>
      `FROM gcc:12\nRUN mkdir /o && cp /bin/ls /o/app && head -c ${padding} /dev/zero > /o/padding\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n`;
    const dir = writePair('doctor', builder(1000), 'FROM scratch\nCOPY app padding /\nENTRYPOINT ["/app"]\n');
    api.tree.refresh();
    const pair = await until('doctor in the tree', async () => (await api.tree.pairs()).find((p) => p.name === 'doctor'));
    const first = await api.builds.build(pair);
    assert.equal(first?.ok, true, first?.error?.message);
    assert.deepEqual(
      first?.doctor?.map((f) => f.code),
      ['MISSING_LOADER'],
    );
    assert.match(api.outputLines.join('\n'), /doctor: error MISSING_LOADER: \/app is dynamically linked: it needs the loader \/lib64\/ld-linux-x86-64\.so\.2/);

    writeFileSync(path.join(dir, 'Dockerfile'), builder(2_500_000));
    const second = await api.builds.build(pair);
    assert.equal(second?.ok, true, second?.error?.message);
    assert.match(api.outputLines.join('\n'), /Since the build of .*: \+2\.5 MB\n\s+\+2\.5 MB\s+\/padding \(grown\)/);

    const panel = await vscode.commands.executeCommand<vscode.WebviewPanel | undefined>('dockerception.showReport', pair);
    assert.ok(panel);
    const html = await until('the report with its doctor section', () => (panel.webview.html.includes('id="doctor"') ? panel.webview.html : undefined));
    assert.match(html, /<tr class="error"><td>error<\/td><td><code>MISSING_LOADER<\/code><\/td><td><code>\/app<\/code><\/td>/);
    assert.match(html, /<h2 id="what-grew">What grew<\/h2>\n<p>Since the build of .*<strong>\+2\.5 MB<\/strong> in all/);
    assert.match(html, /<td class="num grew">\+2\.5 MB<\/td><td><code>\/padding<\/code><\/td><td>grown<\/td>/);
    panel.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Build All of the selected rows builds those pairs in dependency order, one notification, lines named', async () => {
    writePair(
      'all-base',
      'FROM busybox:1.36\nRUN mkdir /o && echo base > /o/base.txt\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n',
      'FROM busybox:1.36\nCOPY base.txt /\n',
    );
    writePair('all-app', 'FROM dc-vscode-all-base\nRUN mkdir /o && cp /base.txt /o/\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n', 'FROM scratch\nCOPY . /\n');
    api.tree.refresh();
    const [app, base] = await until('both in the tree', async () => {
      const rows = await pairRows();
      const found = ['all-app', 'all-base'].map((name) => rows.find((r) => r.label === name)?.node);
      return found.every(Boolean) ? (found as PairNode[]) : undefined;
    });
    const outcomes = (await vscode.commands.executeCommand('dockerception.buildAll', app, [app, base])) as Array<{
      pair: Pair;
      result: string;
      needs: string[];
    }>;
    assert.deepEqual(
      outcomes.map((o) => [o.pair.name, o.result, o.needs]),
      [
        ['all-base', 'built', []],
        ['all-app', 'built', ['all-base']],
      ],
      'only the selected rows, the base first',
    );
    const lines = api.outputLines.join('\n');
    assert.match(lines, /Build All: 2 pair\(s\) of the selected rows/);
    assert.match(lines, /\[all-app\] ==> Tagged dc-vscode-all-app/);
    assert.match(lines, /Build All: 2 built, 0 up to date, 0 failed, 0 skipped/);
    const rows = await pairRows();
    assert.match(String(rows.find((r) => r.label === 'all-app')?.item.description), /^[\d.]+ (?:B|kB|MB) ← [\d.]+ MB/);
    for (const name of ['all-base', 'all-app']) rmSync(path.join(workspaceDir(), name), { recursive: true, force: true });
  });

  test('a failing build says what happened in the output and the status bar, and tags nothing', async () => {
    writePair('broken', 'FROM busybox:1.36\nCMD ["sh", "-c", "echo not a tar; echo oops >&2; exit 3"]\n', 'FROM scratch\n');
    api.tree.refresh();
    const broken = await pairNamed('broken');
    const record = await api.builds.build(broken);
    assert.equal(record?.error?.code, 'BUILDER_EXIT');
    assert.match(api.statusBar.text, /^\$\(error\) broken: BUILDER_EXIT$/);
    assert.equal(api.statusBar.command, 'dockerception.showOutput');
    assert.match(api.outputLines.join('\n'), /✖ BUILDER_EXIT \(builder-run\): The builder container exited with code 3[\s\S]*oops/);
    assert.deepEqual(await engineState('dc-vscode-broken'), { containers: 0, tagged: false });
  });
});
