// The Pairs view's provider: it maps nodes to items (items.ts) from what the discovery, the engine and
// the builds know. A build changing state refreshes its own pair's node, not the whole view.
import * as vscode from 'vscode';
import { builderTagFor, DockerceptionError, engineIdOf, imageSize, lastPairPush, messageOf, pairKey, recordsDir, type ImageSize, type Pair } from '../../core';
import type { Builds } from '../builds';
import { readSettings, runtimeTagFor } from '../settings';
import { engineItem, imageItem, lastBuildItem, pairItem, type PairState } from './items';
import { pushedImageOf, setPushedImage, type PairNode, type PairsTreeNode } from './nodes';
import { PairDiscovery } from './pair-discovery';

interface Images {
  builder: ImageSize | undefined;
  runtime: ImageSize | undefined;
}

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
  }

  /** The engine's address beside the view's title, so that it is always in sight. */
  showEngine(label: string): void {
    if (this.view) this.view.description = label;
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
    if (this.view)
      this.view.message = vscode.workspace.isTrusted ? undefined : 'Restricted Mode: building and running are disabled until you trust this workspace.';
    if (pairs.length === 0) return [];
    await this.loadImages(pairs);
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
    const images = this.images.get(pair.dir);
    const last = this.builds.last(pair);
    const tags = tagsOf(pair);
    return {
      builder: images?.builder ?? (last?.ok ? last.builder : undefined),
      runtime: images?.runtime,
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
    } catch (error) {
      this.images.clear();
      this.engineError = error instanceof DockerceptionError ? error.message : `Cannot reach the Docker engine: ${messageOf(error)}`;
    }
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
        // the next full refresh says what is wrong with the engine
      }
    }
    this.changed.fire(node);
  }

  dispose(): void {
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
