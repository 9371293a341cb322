// Wires the extension's surfaces together; each lives in its own file here. Loaded by src/extension.ts
// (dist/extension-main.js) right after activate() has returned, so VS Code's activation does not wait for it.
import * as vscode from 'vscode';
import * as path from 'node:path';
import { Builds } from './builds';
import { PairCodeLens } from './codelens';
import { PairDiagnostics } from './diagnostics';
import { registerCommands } from './commands';
import { EngineChoice } from './engine-choice';
import { BuildOutput } from './output';
import { ReportPanels } from './report';
import { BuildStatusBar } from './status-bar';
import { PairTasks, TASK_TYPE } from './tasks';
import { PairsTree } from './tree';

/**
 * What the extension's own tests look at, handed out only when VS Code runs it under test
 * (ExtensionMode.Test): the parts behind the UI, the output channel's lines, the status-bar item.
 */
export interface DockerceptionApi {
  builds: Builds;
  engine: EngineChoice;
  tree: PairsTree;
  statusBar: vscode.StatusBarItem;
  /** The Problems panel's entries of each build. */
  diagnostics: PairDiagnostics;
  tasks: PairTasks;
  codeLens: PairCodeLens;
  /** Every line written to the output channel, oldest first (the last 1000). */
  outputLines: string[];
  /** Milliseconds from dist/extension.js starting to load to the end of start() (everything set up). */
  activationMs: number;
}

declare const globalThis: { __dockerceptionLoadStart?: number };

let stopBuilds: ((timeoutMs: number) => Promise<void>) | undefined;

/** Everything activate() leaves for later: the output, the Pairs view, the status bar, the commands, Problems, tasks, CodeLens. */
export function start(context: vscode.ExtensionContext): DockerceptionApi | undefined {
  const underTest = context.extensionMode === vscode.ExtensionMode.Test;
  const outputLines: string[] = [];
  const output = new BuildOutput(
    underTest
      ? (line) => {
          outputLines.push(line);
          if (outputLines.length > 1000) outputLines.splice(0, outputLines.length - 1000);
        }
      : undefined,
  );
  const builds = new Builds(context.workspaceState, output);
  const engine = new EngineChoice();
  const tree = new PairsTree(builds);
  const view = vscode.window.createTreeView('dockerception.pairs', { treeDataProvider: tree, showCollapseAll: true, canSelectMany: true });
  tree.attach(view);
  tree.showEngine(engine.label());
  const statusItem = vscode.window.createStatusBarItem('dockerception.status', vscode.StatusBarAlignment.Left, 50);
  const statusBar = new BuildStatusBar(builds, statusItem, engine);
  engine.onDidChange(() => {
    builds.resetConnection();
    tree.showEngine(engine.label());
    tree.refresh();
  });
  const reports = new ReportPanels(builds);
  registerCommands(context, { builds, tree, output, reports });
  // Problems of each finished build in the Problems panel; a cancelled or skipped build leaves the last ones.
  const diagnostics = new PairDiagnostics();
  const finished = builds.onDidFinish(({ pair, record }) => {
    if (record.error?.code === 'SKIPPED') return;
    diagnostics.show({ pair, error: record.error, findings: record.doctor, dockerfileSource: record.dockerfileSource });
  });
  const tasks = new PairTasks(() => tree.pairs(), path.join(context.extensionPath, 'dist', 'cli.js'));
  const codeLens = new PairCodeLens(builds, () => tree.pairs());
  context.subscriptions.push(
    output,
    builds,
    engine,
    tree,
    view,
    statusBar,
    reports,
    diagnostics,
    finished,
    codeLens,
    vscode.tasks.registerTaskProvider(TASK_TYPE, tasks),
  );
  stopBuilds = (timeoutMs) => builds.stopAll(timeoutMs);
  if (!underTest) return undefined;
  const activationMs = performance.now() - (globalThis.__dockerceptionLoadStart ?? performance.now());
  return { builds, engine, tree, statusBar: statusItem, diagnostics, tasks, codeLens, outputLines, activationMs };
}

/** Cancels running builds and waits until their builder containers are removed (see deactivate()). */
export async function stop(): Promise<void> {
  await stopBuilds?.(4000);
}
