// Dockerception: Build, Build Pair and Build (Force).
import * as vscode from 'vscode';
import type { Pair } from '../../core';
import type { LastBuild } from '../builds';
import { pairOf, requireTrust, tagsOf, whereIs, type CommandContext, type Target } from './context';

/**
 * Another pair whose runtime tag is this one's: building would overwrite its image. Default names
 * differ (see distinctNames); this catches a runtimeTag setting without ${name} shared by two folders.
 */
async function tagOwner(context: CommandContext, pair: Pair): Promise<Pair | undefined> {
  const tag = tagsOf(pair).runtime;
  return (await context.tree.pairs()).find((other) => other.dir !== pair.dir && tagsOf(other).runtime === tag);
}

export async function build(context: CommandContext, target: Target, options: { force: boolean }): Promise<LastBuild | undefined> {
  if (!requireTrust('Building')) return undefined;
  const pair = await pairOf(context, target, options.force ? 'Build (Force)' : 'Build');
  if (!pair) return undefined;
  const other = await tagOwner(context, pair);
  if (other) {
    const tag = tagsOf(pair).runtime;
    void vscode.window
      .showErrorMessage(
        `Dockerception: ${whereIs(pair)} and ${whereIs(other)} would both be tagged ${tag}, so one would overwrite the other's image; nothing was built. ` +
          `Set dockerception.runtimeTag for one of their folders (the default, \${name}, gives each pair its own).`,
        'Open Folder Settings',
      )
      .then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.action.openFolderSettings');
      });
    return undefined;
  }
  return context.builds.build(pair, options);
}
