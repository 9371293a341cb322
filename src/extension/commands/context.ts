// What every command gets: the extension's parts, and the ways a command finds the pair it is about.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { builderTagFor, BUILDER_DOCKERFILE, RUNTIME_DOCKERFILE, type Pair } from '../../core';
import type { Builds } from '../builds';
import { RUNTIME_DOCKERFILE_TEMPLATE } from '../diagnostics';
import type { BuildOutput } from '../output';
import type { ReportPanels } from '../report';
import { readSettings, runtimeTagFor } from '../settings';
import type { PairsTree, PairsTreeNode } from '../tree';

export interface CommandContext {
  builds: Builds;
  tree: PairsTree;
  output: BuildOutput;
  reports: ReportPanels;
}

/** What a command can be invoked with: a tree item, an explorer/editor file, a pair, or nothing. */
export type Target = PairsTreeNode | vscode.Uri | Pair | undefined;

/** Where a pair is, for people: its folder relative to the workspace (with the root's name in a multi-root one). */
export function whereIs(pair: Pair): string {
  return vscode.workspace.asRelativePath(pair.dir, (vscode.workspace.workspaceFolders?.length ?? 0) > 1);
}

/** The pair a command is about: from its argument, else the active editor's folder, else the only pair, else a pick. */
export async function pairOf(context: CommandContext, target: Target, purpose: string): Promise<Pair | undefined> {
  if (target && 'kind' in target && target.kind !== 'engine') return target.pair;
  if (target && 'builderDockerfile' in target) return target;
  const pairs = await context.tree.pairs();
  const fromFile = (uri: vscode.Uri) => pairs.find((p) => p.dir === path.dirname(uri.fsPath));
  if (target instanceof vscode.Uri) {
    const pair = fromFile(target);
    if (pair) return pair;
    void notAPair(path.dirname(target.fsPath));
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
  return pickPair(pairs, purpose);
}

/** Says why a folder is not a pair; when only its Dockerfile.run is missing, offers to create one. */
async function notAPair(dir: string): Promise<void> {
  const where = vscode.workspace.asRelativePath(dir);
  const runtime = vscode.Uri.file(path.join(dir, RUNTIME_DOCKERFILE));
  const has = async (uri: vscode.Uri) =>
    vscode.workspace.fs.stat(uri).then(
      () => true,
      () => false,
    );
  const [builder, runtimeThere] = await Promise.all([has(vscode.Uri.file(path.join(dir, BUILDER_DOCKERFILE))), has(runtime)]);
  const needs = `it needs both ${BUILDER_DOCKERFILE} and ${RUNTIME_DOCKERFILE}`;
  if (!builder || runtimeThere) {
    void vscode.window.showWarningMessage(`Dockerception: ${where} is not a pair: ${needs}.`);
    return;
  }
  const create = `Create ${RUNTIME_DOCKERFILE}`;
  const choice = await vscode.window.showWarningMessage(
    `Dockerception: ${where} is not a pair: it has a builder ${BUILDER_DOCKERFILE} but no ${RUNTIME_DOCKERFILE}, the runtime image's Dockerfile (its context is the tar the builder writes). Create one to make it a pair.`,
    create,
  );
  if (choice !== create) return;
  const edit = new vscode.WorkspaceEdit();
  edit.createFile(runtime, { ignoreIfExists: true, contents: new TextEncoder().encode(RUNTIME_DOCKERFILE_TEMPLATE) });
  if (await vscode.workspace.applyEdit(edit)) await vscode.window.showTextDocument(runtime);
}

export async function pickPair(pairs: readonly Pair[], purpose: string): Promise<Pair | undefined> {
  const picked = await vscode.window.showQuickPick(
    pairs.map((pair) => ({ label: pair.name, description: whereIs(pair), pair })),
    // Kept open when the focus moves: a walkthrough step's button opens it, and the walkthrough then redraws
    // the step as done, which took the focus and closed the pick before it could be answered (the report
    // never opened). Escape still closes it.
    { title: `Dockerception: ${purpose}`, placeHolder: 'Which pair?', ignoreFocusOut: true },
  );
  return picked?.pair;
}

/** In Restricted Mode, says why `action` cannot run and offers to manage trust; false then. */
export function requireTrust(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(
      `Dockerception: ${action} is disabled in Restricted Mode: a builder runs code from this workspace. Trust the workspace to build and run images.`,
      'Manage Workspace Trust',
    )
    .then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.trust.manage');
    });
  return false;
}

/** The pair's runtime and builder tags, from its folder's settings. */
export function tagsOf(pair: Pair): { runtime: string; builder: string } {
  const runtime = runtimeTagFor(pair, readSettings(vscode.Uri.file(pair.dir)));
  return { runtime, builder: builderTagFor(runtime) };
}
