import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { inspectPair, messageOf, recordsDir, taggedGrowth, type Pair } from '../core';
import type { Builds } from './builds';
import { renderReport } from './report-html';
import { readSettings, runtimeTagFor } from './settings';

/** The size report of a pair, one webview panel per pair, refreshed after each of its builds. */
export class ReportPanels implements vscode.Disposable {
  /** Open panels by pair folder. */
  private readonly panels = new Map<string, vscode.WebviewPanel>();
  private readonly subscription: vscode.Disposable;

  constructor(private readonly builds: Builds) {
    this.subscription = builds.onDidChange((pair) => {
      if (pair && this.panels.has(pair.dir) && !builds.isRunning(pair)) void this.render(pair);
    });
  }

  async show(pair: Pair): Promise<vscode.WebviewPanel> {
    let panel = this.panels.get(pair.dir);
    if (panel) {
      panel.reveal();
    } else {
      panel = vscode.window.createWebviewPanel('dockerception.report', `Sizes: ${pair.name}`, vscode.ViewColumn.Active, {
        enableScripts: false,
        localResourceRoots: [],
      });
      this.panels.set(pair.dir, panel);
      panel.onDidDispose(() => this.panels.delete(pair.dir));
    }
    await this.render(pair);
    return panel;
  }

  private async render(pair: Pair): Promise<void> {
    const panel = this.panels.get(pair.dir);
    if (!panel) return;
    const tag = runtimeTagFor(pair, readSettings(vscode.Uri.file(pair.dir)));
    try {
      const { docker } = await this.builds.connect();
      const [inspection, growth] = await Promise.all([inspectPair(docker, tag), taggedGrowth(docker, recordsDir(), pair.dir, tag)]);
      const nonce = randomBytes(16).toString('base64');
      panel.webview.html = renderReport(
        { pairName: pair.name, inspection, dockerfileSource: this.builds.last(pair)?.dockerfileSource, history: this.builds.history(pair), growth },
        nonce,
        panel.webview.cspSource,
      );
    } catch (error) {
      panel.webview.html = `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none';"></head><body><h1>${pair.name}</h1><p>${messageOf(error).replace(/</g, '&lt;')}</p></body></html>`;
    }
  }

  dispose(): void {
    this.subscription.dispose();
    for (const panel of this.panels.values()) panel.dispose();
  }
}
