// Wires the extension's surfaces together; each lives in its own file under src/extension/.
import * as vscode from 'vscode';
import { Builds } from './extension/builds';
import { registerCommands } from './extension/commands';
import { BuildOutput } from './extension/output';
import { ReportPanels } from './extension/report';
import { BuildStatusBar } from './extension/status-bar';
import { PairsTree } from './extension/tree';

export interface DockerceptionApi {
  builds: Builds;
  tree: PairsTree;
  output: BuildOutput;
  statusBar: BuildStatusBar;
  reports: ReportPanels;
  /** Milliseconds from the bundle starting to load to the end of activate(). */
  activationMs: number;
}

declare const globalThis: { __dockerceptionLoadStart?: number };

export function activate(context: vscode.ExtensionContext): DockerceptionApi {
  const output = new BuildOutput();
  const builds = new Builds(context.workspaceState, output);
  const tree = new PairsTree(builds);
  const view = vscode.window.createTreeView('dockerception.pairs', { treeDataProvider: tree, showCollapseAll: true });
  tree.attach(view);
  const statusBar = new BuildStatusBar(builds);
  const reports = new ReportPanels(builds);
  registerCommands(context, { builds, tree, output, reports });
  context.subscriptions.push(output, builds, tree, view, statusBar, reports);
  stopBuilds = (timeoutMs) => builds.stopAll(timeoutMs);
  // Returned for the extension's own tests, which look at the state behind what the UI shows.
  const activationMs = performance.now() - (globalThis.__dockerceptionLoadStart ?? performance.now());
  return { builds, tree, output, statusBar, reports, activationMs };
}

let stopBuilds: ((timeoutMs: number) => Promise<void>) | undefined;

/**
 * On a window reload or close: cancel running builds and wait until their builder containers are
 * removed, within VS Code's few seconds for deactivation. The rest is disposed through subscriptions.
 */
export async function deactivate(): Promise<void> {
  await stopBuilds?.(4000);
}
