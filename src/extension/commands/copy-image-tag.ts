// Copy Image Tag: the runtime tag, or the builder's from the builder image item.
import * as vscode from 'vscode';
import { pairOf, tagsOf, type CommandContext, type Target } from './context';

export async function copyImageTag(context: CommandContext, target: Target): Promise<void> {
  const pair = await pairOf(context, target, 'Copy Image Tag');
  if (!pair) return;
  const tags = tagsOf(pair);
  const tag = target && 'kind' in target && target.kind === 'image' && target.role === 'builder' ? tags.builder : tags.runtime;
  await vscode.env.clipboard.writeText(tag);
  void vscode.window.setStatusBarMessage(`Copied ${tag}`, 3000);
}
