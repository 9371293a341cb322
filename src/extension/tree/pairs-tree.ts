// The Pairs view's provider: it maps nodes to items (items.ts) from what the discovery, the engine and
// the builds know. A build changing state refreshes its own pair's node, not the whole view.
import * as vscode from 'vscode';
import { builderTagFor, DockerceptionError, engineIdOf, imageSize, lastPairPush, messageOf, pairKey, recordsDir, type ImageSize, type Pair } from '../../core';
import type { Builds } from '../builds';
import { readSettings, runtimeTagFor } from '../settings';
import { engineItem, imageItem, lastBuildItem, pairItem, type PairState } from './items';
import { forgetKnownImages, pushedImageOf, setEngineState, setPushedImage, type PairNode, type PairsTreeNode } from './nodes';
import { PairDiscovery } from './pair-discovery';

interface Images {
  builder: ImageSize | undefined;
  runtime: ImageSize | undefined;
}

/**
 * How often an unreachable engine is asked again: every 5 s while the Pairs view is visible (someone is
 * looking); while it is hidden, twice as long each time up to a minute (an ssh:// engine is a new ssh login
 * per look), and at once when the view is shown again.
 */
const RETRY_MS = 5000;
const RETRY_HIDDEN_MAX_MS = 60_000;

const tagsOf = (pair: Pair) => {
  const runtime = runtimeTagFor(pair, readSettings(vscode.Uri.file(pair.dir)));
  return { runtime, builder: builderTagFor(runtime) };
};

export class PairsTree implements vscode.TreeDataProvider<PairsTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<PairsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  /** One node per pair folder, kept, so that a refresh can name it. */
  private readonly nodes = new Map<string, PairNode>();
  private readonly images = new Map<string, Images>();
  private engineError: string | undefined;
  /** When the engine last answered a look-up of the images (they are kept, and shown as of then, while it is away). */
  private lastSeen: number | undefined;
  private engineLabel: string | undefined;
  /** Another engine was chosen in this window: the last build's sizes may be another engine's, so they are not shown for it. */
  private engineSwitched = false;
  /** While the engine is unreachable: the next look-up, so that rows and status bar come back without a click. */
  private retry: NodeJS.Timeout | undefined;
  /** The wait before the next look while the view is hidden (RETRY_MS, doubled each time). */
  private retryHiddenMs = RETRY_MS;
  private view: vscode.TreeView<PairsTreeNode> | undefined;

  constructor(
    private readonly builds: Builds,
    private readonly discovery = new PairDiscovery(),
  ) {
    this.disposables.push(
      discovery,
      discovery.onDidChange(() => this.changed.fire(undefined)),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.changed.fire(undefined)),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('dockerception') && this.changed.fire(undefined)),
      builds.onDidChange((pair) => (pair ? void this.refreshPair(pair) : this.changed.fire(undefined))),
    );
  }

  attach(view: vscode.TreeView<PairsTreeNode>): void {
    this.view = view;
    this.disposables.push(
      view.onDidChangeVisibility(({ visible }) => {
        // Shown while the engine is away: look now, not when the hidden view's longer wait ends.
        if (!visible || this.engineError === undefined || !this.retry) return;
        clearTimeout(this.retry);
        this.retry = undefined;
        this.retryHiddenMs = RETRY_MS;
        this.lookAgain();
      }),
    );
  }

  /**
   * The engine's address beside the view's title (hidden while the view is alone in its side bar) and as
   * the view's message above the rows, where it is read without hovering. Another engine's images are forgotten.
   */
  showEngine(label: string): void {
    if (this.engineLabel !== undefined && label !== this.engineLabel) {
      this.engineSwitched = true;
      this.images.clear();
      this.lastSeen = undefined;
      forgetKnownImages();
    }
    this.engineLabel = label;
    if (this.view) this.view.description = label;
    void this.showMessage();
  }

  /** The view's message: Restricted Mode first when it applies, then the engine; none while the welcome shows (a message hides it). */
  private async showMessage(): Promise<void> {
    if (!this.view) return;
    const pairs = await this.pairs();
    const restricted = vscode.workspace.isTrusted ? undefined : 'Restricted Mode: building and running are disabled until you trust this workspace.';
    const engine = this.engineLabel && pairs.length > 0 ? `Engine: ${this.engineLabel}${this.engineError ? ' (unreachable)' : ''}` : undefined;
    const message = [restricted, engine].filter((line) => line !== undefined).join(' · ') || undefined;
    if (this.view.message !== message) this.view.message = message;
  }

  /** Finds the pairs again and asks the engine again. */
  refresh(): void {
    this.discovery.refresh();
  }

  pairs(): Promise<Pair[]> {
    return this.discovery.pairs();
  }

  private nodeOf(pair: Pair): PairNode {
    let node = this.nodes.get(pair.dir);
    if (!node || node.pair.name !== pair.name) {
      node = { kind: 'pair', pair };
      this.nodes.set(pair.dir, node);
    }
    return node;
  }

  async getChildren(node?: PairsTreeNode): Promise<PairsTreeNode[]> {
    if (node?.kind === 'pair') {
      const children: PairsTreeNode[] = [
        { kind: 'image', pair: node.pair, role: 'builder' },
        { kind: 'image', pair: node.pair, role: 'runtime' },
      ];
      if (this.builds.last(node.pair)) children.push({ kind: 'last', pair: node.pair });
      return children;
    }
    if (node) return [];

    const pairs = await this.pairs();
    await vscode.commands.executeCommand('setContext', 'dockerception.noPairs', pairs.length === 0);
    if (pairs.length === 0) {
      await this.showMessage();
      return [];
    }
    await this.loadImages(pairs);
    await this.showMessage();
    await vscode.commands.executeCommand('setContext', 'dockerception.engineUnreachable', this.engineError !== undefined);
    const nodes: PairsTreeNode[] = pairs.map((pair) => this.nodeOf(pair));
    return this.engineError ? [{ kind: 'engine', message: this.engineError }, ...nodes] : nodes;
  }

  getTreeItem(node: PairsTreeNode): vscode.TreeItem {
    switch (node.kind) {
      case 'engine':
        return engineItem(node);
      case 'pair':
        return pairItem(node.pair, this.stateOf(node.pair));
      case 'image':
        return imageItem(node.pair, node.role, this.stateOf(node.pair));
      case 'last': {
        const last = this.builds.last(node.pair);
        return last ? lastBuildItem(node.pair, last) : new vscode.TreeItem('no build yet');
      }
    }
  }

  getParent(node: PairsTreeNode): PairsTreeNode | undefined {
    return node.kind === 'image' || node.kind === 'last' ? this.nodeOf(node.pair) : undefined;
  }

  private stateOf(pair: Pair): PairState {
    let images = this.images.get(pair.dir);
    const last = this.builds.last(pair);
    const tags = tagsOf(pair);
    let lastSeen = this.lastSeen;
    // The engine has not answered in this window: what the last successful build saw, as of then.
    if (this.engineError !== undefined && !images && !this.engineSwitched && last?.ok && last.runtime?.tag === tags.runtime) {
      images = { builder: last.builder, runtime: last.runtime };
      lastSeen = last.at;
    }
    return {
      builder: images?.builder ?? (last?.ok ? last.builder : undefined),
      runtime: images?.runtime,
      lastSeen: this.engineError !== undefined ? lastSeen : undefined,
      last,
      building: this.builds.phaseOf(pair),
      runtimeTag: tags.runtime,
      builderTag: tags.builder,
      where: vscode.workspace.asRelativePath(pair.dir, (vscode.workspace.workspaceFolders?.length ?? 0) > 1),
      engineReachable: this.engineError === undefined,
    };
  }

  /** Both images of every pair; an unreachable engine leaves the pairs listed, with the reason on top. */
  private async loadImages(pairs: readonly Pair[]): Promise<void> {
    try {
      const { docker } = await this.builds.connect();
      const loaded = await Promise.all(pairs.map(async (pair) => [pair.dir, await imagesOf(docker, pair)] as const));
      this.images.clear();
      for (const [dir, images] of loaded) this.images.set(dir, images);
      // A push recorded by an earlier window (or the CLI) of the image the tag names now: its pull size and digest.
      await recordedPushes(docker, pairs, this.images).catch(() => undefined);
      this.engineError = undefined;
      this.lastSeen = Date.now();
      clearTimeout(this.retry);
      this.retry = undefined;
      this.retryHiddenMs = RETRY_MS;
      setEngineState({ reachable: true, lastSeen: this.lastSeen }, this.images);
    } catch (error) {
      // The images last seen stay: the rows show them as of lastSeen until the engine answers again.
      this.engineError = error instanceof DockerceptionError ? error.message : `Cannot reach the Docker engine: ${messageOf(error)}`;
      // A new connection next time (an ssh:// engine's may have died with it), unless builds still use this one.
      if (this.builds.runningPairs().length === 0) this.builds.resetConnection();
      setEngineState({ reachable: false, lastSeen: this.lastSeen });
      this.scheduleRetry();
    }
  }

  /** While the engine is away, looks again (RETRY_MS); when it answers, the whole view (and the status bar) come back. */
  private scheduleRetry(): void {
    if (this.retry) return;
    const hidden = this.view !== undefined && !this.view.visible;
    const wait = hidden ? this.retryHiddenMs : RETRY_MS;
    this.retryHiddenMs = hidden ? Math.min(this.retryHiddenMs * 2, RETRY_HIDDEN_MAX_MS) : RETRY_MS;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.lookAgain();
    }, wait);
  }

  private lookAgain(): void {
    void this.pairs().then(async (pairs) => {
      await this.loadImages(pairs);
      if (this.engineError === undefined) this.changed.fire(undefined);
    });
  }

  /** One pair's images again, then its node alone. */
  private async refreshPair(pair: Pair): Promise<void> {
    const node = this.nodes.get(pair.dir);
    if (!node) return this.changed.fire(undefined);
    if (!this.builds.isRunning(pair) && this.engineError === undefined) {
      try {
        const { docker } = await this.builds.connect();
        this.images.set(pair.dir, await imagesOf(docker, node.pair));
      } catch {
        // The engine went away (or is refusing): looked at as a whole (the status bar hears of it even while
        // the view is hidden), then the full refresh says so on top and keeps the sizes seen.
        await this.loadImages(await this.pairs());
        return this.changed.fire(undefined);
      }
    }
    this.changed.fire(node);
  }

  dispose(): void {
    clearTimeout(this.retry);
    this.changed.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

async function recordedPushes(docker: Parameters<typeof imageSize>[0], pairs: readonly Pair[], images: ReadonlyMap<string, Images>): Promise<void> {
  const unknown = pairs.filter((pair) => {
    const runtime = images.get(pair.dir)?.runtime;
    return runtime && pushedImageOf(pair.dir)?.runtimeId !== runtime.id;
  });
  if (unknown.length === 0) return;
  const engineId = await engineIdOf(docker);
  await Promise.all(
    unknown.map(async (pair) => {
      const runtime = images.get(pair.dir)?.runtime;
      if (!runtime) return;
      const push = await lastPairPush(recordsDir(), pairKey(engineId, pair.dir, tagsOf(pair).runtime), runtime.id);
      if (push) setPushedImage(pair.dir, { ...push, at: push.pushedAt });
    }),
  );
}

async function imagesOf(docker: Parameters<typeof imageSize>[0], pair: Pair): Promise<Images> {
  const tags = tagsOf(pair);
  const [builder, runtime] = await Promise.all([imageSize(docker, tags.builder), imageSize(docker, tags.runtime)]);
  return { builder, runtime };
}
