// Dockerception: Build All. Which pairs: the rows selected in the Pairs view (when invoked on one of
// them), the pairs of a folder (explorer: a workspace folder or any folder), or, from the palette and the
// view's title, every pair (a workspace of several folders asks: all of them, or one folder's).
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Pair } from '../../core';
import type { PairOutcome } from '../../core/build-all';
import type { PairsTreeNode } from '../tree';
import { requireTrust, type CommandContext } from './context';

const under = (pair: Pair, folder: string) => pair.dir === folder || pair.dir.startsWith(`${folder}${path.sep}`);

/** The pairs a Build All takes from how it was invoked, and how to say which they are; undefined when the user backed out. */
async function pairsFor(context: CommandContext, target: unknown, selected: unknown): Promise<{ pairs: Pair[]; what: string } | undefined> {
  const all = await context.tree.pairs();
  const nodes = (Array.isArray(selected) ? selected : target ? [target] : []) as PairsTreeNode[];
  const fromRows = nodes.filter((n) => n && typeof n === 'object' && 'kind' in n && n.kind !== 'engine').map((n) => (n as { pair: Pair }).pair);
  if (fromRows.length > 0) {
    const dirs = new Set(fromRows.map((p) => p.dir));
    return { pairs: all.filter((p) => dirs.has(p.dir)), what: 'the selected rows' };
  }
  if (target instanceof vscode.Uri) {
    const folder = target.fsPath;
    return { pairs: all.filter((p) => under(p, folder)), what: vscode.workspace.asRelativePath(folder) };
  }
  const folders = vscode.workspace.workspaceFolders ?? [];
  if (folders.length <= 1) return { pairs: all, what: 'the workspace' };
  const everything = { label: 'All folders', description: `${all.length} pairs`, folder: undefined as vscode.WorkspaceFolder | undefined };
  const picked = await vscode.window.showQuickPick(
    [everything, ...folders.map((folder) => ({ label: folder.name, description: `${all.filter((p) => under(p, folder.uri.fsPath)).length} pairs`, folder }))],
    { title: 'Dockerception: Build All', placeHolder: 'Build the pairs of which workspace folder?' },
  );
  if (!picked) return undefined;
  if (!picked.folder) return { pairs: all, what: 'the workspace' };
  const root = picked.folder.uri.fsPath;
  return { pairs: all.filter((p) => under(p, root)), what: picked.folder.name };
}

export async function buildAllCommand(context: CommandContext, target: unknown, selected: unknown): Promise<PairOutcome[] | undefined> {
  if (!requireTrust('Build All')) return undefined;
  const chosen = await pairsFor(context, target, selected);
  if (!chosen) return undefined;
  if (chosen.pairs.length === 0) {
    void vscode.window.showWarningMessage(
      `Dockerception: no pairs in ${chosen.what}. A pair is a folder with a builder Dockerfile and a runtime Dockerfile.run.`,
    );
    return undefined;
  }
  return context.builds.buildAll(chosen.pairs, chosen.what);
}
