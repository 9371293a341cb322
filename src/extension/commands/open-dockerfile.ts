// Open Builder Dockerfile / Open Runtime Dockerfile.
import * as vscode from 'vscode';
import { pairOf, type CommandContext, type Target } from './context';

export async function openDockerfile(context: CommandContext, target: Target, which: 'builder' | 'runtime'): Promise<void> {
  const pair = await pairOf(context, target, which === 'builder' ? 'Open Builder Dockerfile' : 'Open Runtime Dockerfile');
  if (pair) await vscode.window.showTextDocument(vscode.Uri.file(which === 'builder' ? pair.builderDockerfile : pair.runtimeDockerfile));
}
