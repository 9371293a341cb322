// Copy Digest: the pushed runtime image as NAME@sha256:…, from this window's push or, after a reload, the
// push recorded with the pair's build on this machine.
import * as vscode from 'vscode';
import { engineIdOf, lastPairPush, pairKey, recordsDir } from '../../core';
import { pushedImageOf } from '../tree/nodes';
import { pairOf, tagsOf, type CommandContext, type Target } from './context';

export async function copyDigest(context: CommandContext, target: Target): Promise<string | undefined> {
  const pair = await pairOf(context, target, 'Copy Digest');
  if (!pair) return undefined;
  const { runtime } = tagsOf(pair);
  const inWindow = pushedImageOf(pair.dir);
  let canonical: string | undefined;
  try {
    const { docker } = await context.builds.connect();
    const id = (await docker.getImage(runtime).inspect()).Id;
    canonical =
      inWindow?.runtimeId === id ? inWindow.canonical : (await lastPairPush(recordsDir(), pairKey(await engineIdOf(docker), pair.dir, runtime), id))?.canonical;
  } catch {
    canonical = undefined; // no image, or no engine: said below
  }
  if (!canonical) {
    void vscode.window.showInformationMessage(
      `Dockerception: ${runtime} as it is now has not been pushed from this machine. Push Runtime Image first, then copy its digest.`,
    );
    return undefined;
  }
  await vscode.env.clipboard.writeText(canonical);
  void vscode.window.setStatusBarMessage(`Copied ${canonical}`, 3000);
  return canonical;
}
