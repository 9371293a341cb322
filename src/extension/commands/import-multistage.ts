// Make a Pair from This Dockerfile: a multi-stage Dockerfile split into a builder Dockerfile and a
// Dockerfile.run in its folder (the folder its build used as context). Asks before replacing a file.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { existingPairFiles, importDockerfile, messageOf } from '../../core';
import type { CommandContext, Target } from './context';

export async function importMultiStage(context: CommandContext, target: Target): Promise<void> {
  const uri = target instanceof vscode.Uri ? target : vscode.window.activeTextEditor?.document.uri;
  if (!uri || uri.scheme !== 'file') {
    void vscode.window.showWarningMessage('Dockerception: right-click a multi-stage Dockerfile (or open it) to make a pair from it.');
    return;
  }
  const existing = await existingPairFiles(uri.fsPath);
  if (existing.length > 0) {
    const names = existing.map((f) => vscode.workspace.asRelativePath(f)).join(' and ');
    const replacesInput = existing.some((f) => path.resolve(f) === path.resolve(uri.fsPath));
    const replace = await vscode.window.showWarningMessage(
      `Dockerception: ${names} already exist${existing.length === 1 ? 's' : ''}. Replace ${existing.length === 1 ? 'it' : 'them'} with the pair?` +
        (replacesInput ? ' The builder Dockerfile keeps every stage but the last; the last becomes Dockerfile.run.' : ''),
      { modal: true },
      'Replace',
    );
    if (replace !== 'Replace') return;
  }
  try {
    const result = await importDockerfile(uri.fsPath, { force: existing.length > 0 });
    for (const note of result.notes) context.output.line(`Import note: ${note}`);
    await vscode.window.showTextDocument(vscode.Uri.file(result.files[1]));
    context.tree.refresh();
    void vscode.window.showInformationMessage(
      `Dockerception: made a pair in ${vscode.workspace.asRelativePath(result.dir)} (Dockerfile and Dockerfile.run).` +
        (result.notes.length > 0 ? ` ${result.notes.length} note(s) in the files say what to check.` : ''),
    );
  } catch (error) {
    void vscode.window.showErrorMessage(`Dockerception: ${messageOf(error)}`);
  }
}
