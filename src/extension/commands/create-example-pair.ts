// Create Example Pair: a busybox builder and a scratch runtime in a new folder of the chosen root.
import * as vscode from 'vscode';
import { pairFor } from '../../core';
import type { CommandContext } from './context';

const BUILDER =
  '# Builder: make the artefacts, then write the runtime context as a tar to stdout.\n' +
  'FROM busybox:1.36\nRUN mkdir /out && echo "hello from the runtime image" > /out/hello.txt\n' +
  'COPY Dockerfile.run /out/Dockerfile\nCMD ["tar", "-cf", "-", "-C", "/out", "."]\n';
const RUNTIME = '# Runtime: only what the app needs.\nFROM scratch\nCOPY hello.txt /hello.txt\n';

export async function createExamplePair(context: CommandContext): Promise<void> {
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length === 0) {
    void vscode.window.showWarningMessage('Dockerception: open a folder first; the example pair is created in it.');
    return;
  }
  const folder = folders.length === 1 ? folders[0] : await vscode.window.showWorkspaceFolderPick({ placeHolder: 'Create the example pair in which folder?' });
  if (!folder) return;
  const pair = pairFor(vscode.Uri.joinPath(folder.uri, 'hello-dockerception').fsPath);
  const encoder = new TextEncoder();
  await vscode.workspace.fs.writeFile(vscode.Uri.file(pair.builderDockerfile), encoder.encode(BUILDER));
  await vscode.workspace.fs.writeFile(vscode.Uri.file(pair.runtimeDockerfile), encoder.encode(RUNTIME));
  await vscode.window.showTextDocument(vscode.Uri.file(pair.builderDockerfile));
  context.tree.refresh();
}
