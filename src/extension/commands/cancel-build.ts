// Dockerception: Cancel Build. With several builds running and no pair named: the active editor's
// pair if it is building, else the user picks one (or all).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { pairOf, whereIs, type CommandContext, type Target } from './context';

export async function cancelBuild(context: CommandContext, target: Target): Promise<void> {
  const running = context.builds.runningPairs();
  if (running.length === 0) {
    void vscode.window.showInformationMessage('Dockerception: no build is running.');
    return;
  }
  if (target) {
    const pair = await pairOf(context, target, 'Cancel Build');
    if (pair && !context.builds.cancel(pair)) void vscode.window.showInformationMessage(`Dockerception: ${pair.name} is not building.`);
    return;
  }
  const active = vscode.window.activeTextEditor?.document.uri;
  const activePair = active?.scheme === 'file' ? running.find((p) => p.dir === path.dirname(active.fsPath)) : undefined;
  if (running.length === 1 || activePair) {
    context.builds.cancel(activePair ?? running[0]);
    return;
  }
  const all = { label: 'All builds', description: `${running.length} running`, pair: undefined };
  const picked = await vscode.window.showQuickPick([...running.map((pair) => ({ label: pair.name, description: whereIs(pair), pair })), all], {
    title: 'Dockerception: Cancel Build',
    placeHolder: 'Which build?',
  });
  if (picked) context.builds.cancel(picked.pair);
}
