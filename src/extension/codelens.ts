// CodeLens above line 1 of each pair's builder Dockerfile and Dockerfile.run: "Build", the sizes of its last
// build ("builder 846 MB → runtime 4.46 MB"), "Report". Updated after each build; off with dockerception.codeLens.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatBytes, type Pair } from '../core';
import type { Builds } from './builds';
import { readSettings } from './settings';

export class PairCodeLens implements vscode.CodeLensProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];
  /** Pairs whose lens says "building". */
  private readonly building = new Set<string>();

  constructor(
    private readonly builds: Builds,
    private readonly pairs: () => Promise<readonly Pair[]>,
  ) {
    this.subscriptions = [
      // Asked again when a build starts or ends, not at each phase: a storm of changes left VS Code showing a stale lens.
      builds.onDidChange((pair) => {
        if (!pair || builds.isRunning(pair) === this.building.has(pair.dir)) return;
        if (builds.isRunning(pair)) this.building.add(pair.dir);
        else this.building.delete(pair.dir);
        this.changed.fire();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('dockerception.codeLens')) this.changed.fire();
      }),
      vscode.languages.registerCodeLensProvider({ scheme: 'file', pattern: '**/{Dockerfile,Dockerfile.run}' }, this),
    ];
  }

  async provideCodeLenses(document: vscode.TextDocument): Promise<vscode.CodeLens[]> {
    if (!readSettings(document.uri).codeLens) return [];
    const file = document.uri.fsPath;
    const pair = (await this.pairs()).find((p) => p.builderDockerfile === file || p.runtimeDockerfile === file);
    if (!pair || path.dirname(file) !== pair.dir) return [];
    const top = new vscode.Range(0, 0, 0, 0);
    const lenses = [
      new vscode.CodeLens(top, {
        title: 'Build',
        tooltip: `Build ${pair.name} (builder → tar → runtime)`,
        command: 'dockerception.buildPair',
        arguments: [pair],
      }),
    ];
    const building = this.builds.isRunning(pair);
    const last = this.builds.last(pair);
    const report = { command: 'dockerception.showReport', arguments: [pair] };
    if (building) lenses.push(new vscode.CodeLens(top, { title: 'building…', tooltip: 'The status bar shows how far it got', command: '' }));
    else if (last?.ok && last.builder && last.runtime) {
      const doctor = (last.doctor ?? []).some((f) => f.severity === 'error') ? ' · doctor: cannot start' : '';
      lenses.push(
        new vscode.CodeLens(top, {
          title: `builder ${formatBytes(last.builder.size)} → runtime ${formatBytes(last.runtime.size)}${doctor}`,
          tooltip: 'The sizes of its last build: show where the bytes are',
          ...report,
        }),
      );
    } else if (last?.error && last.error.code !== 'CANCELLED')
      lenses.push(new vscode.CodeLens(top, { title: `last build failed: ${last.error.code}`, command: 'dockerception.showOutput' }));
    else lenses.push(new vscode.CodeLens(top, { title: 'not built yet', command: '' }));
    lenses.push(new vscode.CodeLens(top, { title: 'Report', tooltip: `The size report of ${pair.name}`, ...report }));
    return lenses;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}
