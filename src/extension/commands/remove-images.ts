// Remove Images: the pair's runtime and builder tags, after asking.
import * as vscode from 'vscode';
import { pairOf, requireTrust, tagsOf, type CommandContext, type Target } from './context';

export async function removeImages(context: CommandContext, target: Target): Promise<void> {
  if (!requireTrust('Removing images')) return;
  const pair = await pairOf(context, target, 'Remove Images');
  if (!pair) return;
  const tags = tagsOf(pair);
  const choice = await vscode.window.showWarningMessage(`Remove ${tags.runtime} and ${tags.builder} from the engine?`, { modal: true }, 'Remove');
  if (choice !== 'Remove') return;
  const { docker } = await context.builds.connect();
  const removed: string[] = [];
  for (const tag of [tags.runtime, tags.builder]) {
    try {
      await docker.getImage(tag).remove();
      removed.push(tag);
    } catch {
      // not there, or used by a container: say what was removed
    }
  }
  context.tree.refresh();
  void vscode.window.showInformationMessage(
    removed.length > 0 ? `Dockerception: removed ${removed.join(' and ')}.` : 'Dockerception: there was nothing to remove.',
  );
}
