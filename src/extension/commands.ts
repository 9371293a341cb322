import * as path from 'node:path';
import * as vscode from 'vscode';
import { builderTagFor, pairFor, RUNTIME_DOCKERFILE, BUILDER_DOCKERFILE, type Pair } from '../core';
import type { Builds } from './builds';
import type { BuildOutput } from './output';
import type { ReportPanels } from './report';
import { readSettings, runtimeTagFor } from './settings';
import { ImageItem, PairItem, type PairsTree, type PairsTreeNode } from './tree';

/** What a command can be invoked with: a tree item, an explorer/editor file, a pair, or nothing. */
type Target = PairsTreeNode | vscode.Uri | Pair | undefined;

export function registerCommands(context: vscode.ExtensionContext, builds: Builds, tree: PairsTree, output: BuildOutput, reports: ReportPanels): void {
  /** The pair a command is about: from its argument, else the active editor's folder, else the only pair, else a pick. */
  async function pairOf(target: Target, purpose: string): Promise<Pair | undefined> {
    if (target instanceof PairItem || target instanceof ImageItem) return target.pair;
    if (target && 'pair' in target) return target.pair;
    if (target && 'builderDockerfile' in target) return target;
    const pairs = await tree.pairs();
    const fromFile = (uri: vscode.Uri) => pairs.find((p) => p.dir === path.dirname(uri.fsPath));
    if (target instanceof vscode.Uri) {
      const pair = fromFile(target);
      if (pair) return pair;
      void vscode.window.showWarningMessage(
        `Dockerception: ${vscode.workspace.asRelativePath(path.dirname(target.fsPath))} is not a pair: it needs both ${BUILDER_DOCKERFILE} and ${RUNTIME_DOCKERFILE}.`,
      );
      return undefined;
    }
    const active = vscode.window.activeTextEditor?.document.uri;
    const activePair = active?.scheme === 'file' ? fromFile(active) : undefined;
    if (activePair) return activePair;
    if (pairs.length === 1) return pairs[0];
    if (pairs.length === 0) {
      void vscode.window.showWarningMessage(
        `Dockerception: no pairs in this workspace. A pair is a folder with a builder ${BUILDER_DOCKERFILE} and a runtime ${RUNTIME_DOCKERFILE}.`,
      );
      return undefined;
    }
    const picked = await vscode.window.showQuickPick(
      pairs.map((pair) => ({ label: pair.name, description: vscode.workspace.asRelativePath(pair.dir), pair })),
      { title: `Dockerception: ${purpose}`, placeHolder: 'Which pair?' },
    );
    return picked?.pair;
  }

  function requireTrust(action: string): boolean {
    if (vscode.workspace.isTrusted) return true;
    void vscode.window
      .showWarningMessage(`Dockerception: ${action} is disabled in Restricted Mode. Trust this workspace to build and run images.`, 'Manage Workspace Trust')
      .then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
      });
    return false;
  }

  const buildWith = (options: { force: boolean }) => async (target: Target) => {
    if (!requireTrust('Building')) return undefined;
    const pair = await pairOf(target, options.force ? 'Build (Force)' : 'Build');
    return pair ? builds.build(pair, options) : undefined;
  };
  const build = buildWith({ force: false });

  const tagsOf = (pair: Pair) => {
    const runtime = runtimeTagFor(pair, readSettings(vscode.Uri.file(pair.dir)));
    return { runtime, builder: builderTagFor(runtime) };
  };

  const register = (id: string, handler: (target: Target) => unknown) => context.subscriptions.push(vscode.commands.registerCommand(id, handler));

  register('dockerception.build', build);
  register('dockerception.buildPair', build);
  register('dockerception.buildForce', buildWith({ force: true }));
  register('dockerception.refresh', () => {
    builds.resetConnection();
    tree.refresh();
  });
  register('dockerception.showOutput', () => output.show());
  register('dockerception.cancelBuild', async (target) => {
    const running = builds.runningPairs();
    const pair = target ? await pairOf(target, 'Cancel Build') : running.length === 1 ? running[0] : undefined;
    if (!builds.cancel(pair)) void vscode.window.showInformationMessage('Dockerception: no build is running.');
  });
  register('dockerception.openBuilderDockerfile', async (target) => {
    const pair = await pairOf(target, 'Open Builder Dockerfile');
    if (pair) await vscode.window.showTextDocument(vscode.Uri.file(pair.builderDockerfile));
  });
  register('dockerception.openRuntimeDockerfile', async (target) => {
    const pair = await pairOf(target, 'Open Runtime Dockerfile');
    if (pair) await vscode.window.showTextDocument(vscode.Uri.file(pair.runtimeDockerfile));
  });
  register('dockerception.copyImageTag', async (target) => {
    const pair = await pairOf(target, 'Copy Image Tag');
    if (!pair) return;
    const tags = tagsOf(pair);
    const tag = target instanceof ImageItem && target.role === 'builder' ? tags.builder : tags.runtime;
    await vscode.env.clipboard.writeText(tag);
    void vscode.window.setStatusBarMessage(`Copied ${tag}`, 3000);
  });
  register('dockerception.runRuntimeImage', async (target) => {
    if (!requireTrust('Running images')) return;
    const pair = await pairOf(target, 'Run Runtime Image');
    if (!pair) return;
    const { runtime } = tagsOf(pair);
    const { docker } = await builds.connect();
    let ports: string[];
    try {
      ports = Object.keys((await docker.getImage(runtime).inspect()).Config?.ExposedPorts ?? {});
    } catch {
      void vscode.window.showWarningMessage(`Dockerception: there is no image ${runtime} yet. Build ${pair.name} first.`, 'Build').then((choice) => {
        if (choice) void builds.build(pair);
      });
      return;
    }
    // Publish every EXPOSEd port on the same host port, as a person would type it.
    const publish = ports.map((p) => `-p ${p.split('/')[0]}:${p}`).join(' ');
    const terminal = vscode.window.createTerminal({ name: `Dockerception: ${pair.name}`, env: hostEnv() });
    terminal.show();
    terminal.sendText(`docker run --rm -it ${publish} ${runtime}`.replace(/ {2,}/g, ' '));
  });
  register('dockerception.removeImages', async (target) => {
    if (!requireTrust('Removing images')) return;
    const pair = await pairOf(target, 'Remove Images');
    if (!pair) return;
    const tags = tagsOf(pair);
    const choice = await vscode.window.showWarningMessage(`Remove ${tags.runtime} and ${tags.builder} from the engine?`, { modal: true }, 'Remove');
    if (choice !== 'Remove') return;
    const { docker } = await builds.connect();
    const removed: string[] = [];
    for (const tag of [tags.runtime, tags.builder]) {
      try {
        await docker.getImage(tag).remove();
        removed.push(tag);
      } catch {
        // not there, or used by a container: say what was removed
      }
    }
    tree.refresh();
    void vscode.window.showInformationMessage(
      removed.length > 0 ? `Dockerception: removed ${removed.join(' and ')}.` : 'Dockerception: there was nothing to remove.',
    );
  });
  register('dockerception.showReport', async (target) => {
    const pair = await pairOf(target, 'Show Report');
    if (pair) await reports.show(pair);
  });
  register('dockerception.createExamplePair', async () => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    if (!folder) {
      void vscode.window.showWarningMessage('Dockerception: open a folder first; the example pair is created in it.');
      return;
    }
    const dir = vscode.Uri.joinPath(folder.uri, 'hello-dockerception');
    const pair = pairFor(dir.fsPath);
    const encoder = new TextEncoder();
    await vscode.workspace.fs.writeFile(
      vscode.Uri.file(pair.builderDockerfile),
      encoder.encode(
        '# Builder: make the artefacts, then write the runtime context as a tar to stdout.\n' +
          'FROM busybox:1.36\nRUN mkdir /out && echo "hello from the runtime image" > /out/hello.txt\n' +
          'COPY Dockerfile.run /out/Dockerfile\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n',
      ),
    );
    await vscode.workspace.fs.writeFile(
      vscode.Uri.file(pair.runtimeDockerfile),
      encoder.encode('# Runtime: only what the app needs.\nFROM scratch\nCOPY hello.txt /hello.txt\n'),
    );
    await vscode.window.showTextDocument(vscode.Uri.file(pair.builderDockerfile));
    tree.refresh();
  });
}

/** The terminal's docker CLI talks to the same engine as the extension when a host is set. */
function hostEnv(): Record<string, string> | undefined {
  const host = readSettings().host;
  return host ? { DOCKER_HOST: host } : undefined;
}
