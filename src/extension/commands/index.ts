// The registry: each command id and the function (one per file here) that runs it, taking the
// extension's parts and what the command was invoked with.
import * as vscode from 'vscode';
import { build } from './build';
import { buildAllCommand } from './build-all';
import { cancelBuild } from './cancel-build';
import { chooseEngine } from './choose-engine';
import type { CommandContext, Target } from './context';
import { copyImageTag } from './copy-image-tag';
import { copyDigest } from './copy-digest';
import { pushRuntimeImage } from './push';
import { createExamplePair } from './create-example-pair';
import { exportMultiStage } from './export-multistage';
import { importMultiStage } from './import-multistage';
import { openDockerfile } from './open-dockerfile';
import { removeImages } from './remove-images';
import { runRuntimeImage } from './run-runtime-image';
import { pairOf } from './context';

export type { CommandContext } from './context';

type Command = (context: CommandContext, target: Target) => unknown;

export const COMMANDS: Readonly<Record<string, Command>> = {
  'dockerception.build': (c, t) => build(c, t, { force: false }),
  'dockerception.buildPair': (c, t) => build(c, t, { force: false }),
  'dockerception.buildForce': (c, t) => build(c, t, { force: true }),
  'dockerception.cancelBuild': cancelBuild,
  'dockerception.refresh': (c) => {
    c.builds.resetConnection();
    c.tree.refresh();
  },
  'dockerception.showOutput': (c) => c.output.show(),
  'dockerception.openEngineSetting': (c) => chooseEngine(c),
  'dockerception.showReport': async (c, t) => {
    const pair = await pairOf(c, t, 'Show Report');
    return pair ? c.reports.show(pair) : undefined;
  },
  'dockerception.openBuilderDockerfile': (c, t) => openDockerfile(c, t, 'builder'),
  'dockerception.openRuntimeDockerfile': (c, t) => openDockerfile(c, t, 'runtime'),
  'dockerception.copyImageTag': copyImageTag,
  'dockerception.runRuntimeImage': runRuntimeImage,
  'dockerception.pushRuntimeImage': pushRuntimeImage,
  'dockerception.copyDigest': copyDigest,
  'dockerception.removeImages': removeImages,
  'dockerception.createExamplePair': (c) => createExamplePair(c),
  'dockerception.exportMultiStage': exportMultiStage,
  'dockerception.importMultiStage': importMultiStage,
};

export function registerCommands(extension: vscode.ExtensionContext, context: CommandContext): void {
  for (const [id, command] of Object.entries(COMMANDS)) {
    extension.subscriptions.push(vscode.commands.registerCommand(id, (target: Target) => command(context, target)));
  }
  // Build All also takes the view's selection (VS Code passes the clicked row, then every selected row).
  extension.subscriptions.push(
    vscode.commands.registerCommand('dockerception.buildAll', (target: unknown, selected: unknown) => buildAllCommand(context, target, selected)),
    vscode.commands.registerCommand('dockerception.cancelBuildAll', () => {
      if (!context.builds.cancelAll()) void vscode.window.showInformationMessage('Dockerception: no Build All is running.');
    }),
  );
}
