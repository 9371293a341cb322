import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { engineIdOf, estimatePullSize, inspectPair, lastPairPush, messageOf, pairKey, recordsDir, taggedGrowth, type Engine, type Pair } from '../core';
import type { Builds } from './builds';
import { renderReport, type PullSizeView } from './report-html';
import { readSettings, runtimeTagFor } from './settings';

/** How long a report waits for its pull-size estimate before it shows "estimating…" and renders again later. */
const FIRST_RENDER_WAIT_MS = 1500;

/** The size report of a pair, one webview panel per pair, refreshed after each of its builds. */
export class ReportPanels implements vscode.Disposable {
  /** Open panels by pair folder. */
  private readonly panels = new Map<string, vscode.WebviewPanel>();
  private readonly subscription: vscode.Disposable;
  /** Pull-size estimates by runtime image id (an image's layers never change), made when a report shows that image. */
  private readonly estimates = new Map<string, Promise<PullSizeView>>();

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

  /** Renders a pair's open report again (after a push: the pull size is then the registry's). */
  refresh(pair: Pair): Promise<void> {
    return this.render(pair);
  }

  private async render(pair: Pair): Promise<void> {
    const panel = this.panels.get(pair.dir);
    if (!panel) return;
    const tag = runtimeTagFor(pair, readSettings(vscode.Uri.file(pair.dir)));
    try {
      const engine = await this.builds.connect();
      const { docker } = engine;
      const [inspection, growth] = await Promise.all([inspectPair(docker, tag), taggedGrowth(docker, recordsDir(), pair.dir, tag)]);
      const show = (pull: PullSizeView) => {
        if (this.panels.get(pair.dir) !== panel) return;
        const nonce = randomBytes(16).toString('base64');
        panel.webview.html = renderReport(
          { pairName: pair.name, inspection, dockerfileSource: this.builds.last(pair)?.dockerfileSource, history: this.builds.history(pair), growth, pull },
          nonce,
          panel.webview.cspSource,
        );
      };
      // The pull size: the registry's figure when this very image was pushed from here, else an estimate
      // (the image's export gzipped: ~0.1–1 s), made when the report shows the image, never during a build.
      const pushed = await lastPairPush(recordsDir(), pairKey(await engineIdOf(docker), pair.dir, tag), inspection.runtime.id).catch(() => undefined);
      if (pushed?.pullSize !== undefined) {
        show({ source: 'pushed', size: pushed.pullSize, canonical: pushed.canonical, pushedAt: pushed.pushedAt });
        return;
      }
      // A report shown twice flashes and loses its scroll: the first render waits a moment for the estimate
      // (a small image's takes ~0.2 s), and says "estimating…" only when it takes longer.
      const estimate = this.estimates.get(inspection.runtime.id) ?? this.estimate(engine, inspection.runtime.id);
      const soon = await Promise.race([estimate, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), FIRST_RENDER_WAIT_MS))]);
      if (soon) {
        show(soon);
        return;
      }
      show({ source: 'estimating' });
      show(await estimate);
    } catch (error) {
      panel.webview.html = `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none';"></head><body><h1>${pair.name}</h1><p>${messageOf(error).replace(/</g, '&lt;')}</p></body></html>`;
    }
  }

  private estimate(engine: Engine, id: string): Promise<PullSizeView> {
    const estimate = estimatePullSize(engine, id).then(
      (e): PullSizeView => ({ source: 'estimate', size: e.pullSize, ms: e.elapsedMs }),
      (error: unknown): PullSizeView => {
        this.estimates.delete(id);
        return { source: 'unknown', why: `${messageOf(error)} ('dockerception inspect --pull-size' estimates it from a terminal)` };
      },
    );
    if (this.estimates.size > 50) this.estimates.clear();
    this.estimates.set(id, estimate);
    return estimate;
  }

  dispose(): void {
    this.subscription.dispose();
    for (const panel of this.panels.values()) panel.dispose();
  }
}
