import * as vscode from 'vscode';
import { builderTagFor, DockerceptionError, findPairs, formatBytes, imageSize, messageOf, sizeSummary, type ImageSize, type Pair } from '../core';
import type { Builds, LastBuild } from './builds';
import { readSettings, runtimeTagFor } from './settings';

/** A pair: its name, and the builder and runtime sizes side by side. */
export class PairItem extends vscode.TreeItem {
  constructor(
    readonly pair: Pair,
    readonly builder: ImageSize | undefined,
    readonly runtime: ImageSize | undefined,
    readonly last: LastBuild | undefined,
    building: string | undefined,
  ) {
    super(pair.name, vscode.TreeItemCollapsibleState.Collapsed);
    this.id = pair.dir;
    this.resourceUri = vscode.Uri.file(pair.dir);
    this.contextValue = building ? 'pair.building' : runtime ? 'pair.built' : 'pair';
    this.description = building
      ? `building: ${building.replace('-', ' ')}…`
      : builder && runtime
        ? sizeSummary(builder.size, runtime.size)
        : last?.error?.code === 'CANCELLED'
          ? 'last build cancelled'
          : last && !last.ok
            ? `last build failed: ${last.error?.code}`
            : 'not built yet';
    const failed = last && !last.ok && last.error?.code !== 'CANCELLED';
    this.iconPath = new vscode.ThemeIcon(building ? 'sync~spin' : failed ? 'error' : 'package');
    const tooltip = new vscode.MarkdownString(`**${pair.name}** — \`${vscode.workspace.asRelativePath(pair.dir)}\`\n\n`);
    if (builder) tooltip.appendMarkdown(`- builder \`${builder.tag}\`: ${formatBytes(builder.size)}\n`);
    if (runtime) tooltip.appendMarkdown(`- runtime \`${runtime.tag}\`: ${formatBytes(runtime.size)}\n`);
    if (last) tooltip.appendMarkdown(`\nLast build ${new Date(last.at).toLocaleString()}: ${last.ok ? 'succeeded' : `failed (${last.error?.code})`}`);
    this.tooltip = tooltip;
  }
}

/** The builder or runtime image of a pair. */
export class ImageItem extends vscode.TreeItem {
  constructor(
    readonly pair: Pair,
    readonly role: 'builder' | 'runtime',
    readonly image: ImageSize | undefined,
    tag: string,
  ) {
    super(role, vscode.TreeItemCollapsibleState.None);
    this.id = `${pair.dir}#${role}`;
    this.contextValue = `image.${role}${image ? '' : '.missing'}`;
    this.iconPath = new vscode.ThemeIcon(role === 'builder' ? 'tools' : 'rocket');
    this.description = image ? `${formatBytes(image.size)} · ${tag}` : `${tag} (not built)`;
    this.tooltip = image ? `${tag}\n${image.id}\nsize ${image.size} bytes\ncreated ${image.created ?? '?'}` : `No image tagged ${tag} yet`;
  }
}

/** When the last build ran, how long it took and how it ended. */
export class LastBuildItem extends vscode.TreeItem {
  constructor(
    readonly pair: Pair,
    last: LastBuild,
  ) {
    super('last build', vscode.TreeItemCollapsibleState.None);
    this.id = `${pair.dir}#last`;
    this.contextValue = 'lastBuild';
    this.iconPath = new vscode.ThemeIcon(last.ok ? 'pass' : 'error');
    this.description = `${last.ok ? 'succeeded' : `failed: ${last.error?.code}`} in ${(last.ms / 1000).toFixed(1)} s, ${new Date(last.at).toLocaleTimeString()}`;
    this.tooltip = last.ok ? `Built ${new Date(last.at).toLocaleString()}` : last.error?.message;
    this.command = { command: 'dockerception.showOutput', title: 'Show Output' };
  }
}

export type PairsTreeNode = PairItem | ImageItem | LastBuildItem;

/**
 * The "Pairs" view: every Dockerfile / Dockerfile.run pair in every workspace folder. One change
 * emitter; it fires when such a file is created or deleted, when a build changes state, and on Refresh.
 */
export class PairsTree implements vscode.TreeDataProvider<PairsTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<PairsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private pairsCache: Promise<Pair[]> | undefined;
  private view: vscode.TreeView<PairsTreeNode> | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(private readonly builds: Builds) {
    // Every create and delete, not only of Dockerfiles: a folder copied or moved in (or deleted) as a
    // whole may be reported as that folder alone, without events for the files inside it.
    const watcher = vscode.workspace.createFileSystemWatcher('**/*', false, true, false);
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => void this.onCreated(uri)),
      watcher.onDidDelete((uri) => void this.onDeleted(uri)),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.refresh()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('dockerception') && this.refresh()),
      builds.onDidChange(() => this.changed.fire(undefined)),
    );
  }

  attach(view: vscode.TreeView<PairsTreeNode>): void {
    this.view = view;
  }

  refresh(): void {
    this.pairsCache = undefined;
    this.changed.fire(undefined);
  }

  private isPairFile(uri: vscode.Uri): boolean {
    const name = uri.path.slice(uri.path.lastIndexOf('/') + 1);
    return name === 'Dockerfile' || name === 'Dockerfile.run';
  }

  private async onCreated(uri: vscode.Uri): Promise<void> {
    if (this.isPairFile(uri)) return this.refreshSoon();
    const stat = await vscode.workspace.fs.stat(uri).then(
      (s) => s,
      () => undefined,
    );
    if (stat && stat.type & vscode.FileType.Directory) this.refreshSoon();
  }

  private async onDeleted(uri: vscode.Uri): Promise<void> {
    if (this.isPairFile(uri)) return this.refreshSoon();
    const known = this.pairsCache ? await this.pairsCache : [];
    if (known.some((pair) => pair.dir === uri.fsPath || pair.dir.startsWith(`${uri.fsPath}/`))) this.refreshSoon();
  }

  /** File events come in bursts (a folder copied in, a rename): refresh once they settle. */
  private refreshSoon(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => this.refresh(), 150);
  }

  /** Every pair in the workspace, found once per refresh. */
  pairs(): Promise<Pair[]> {
    this.pairsCache ??= Promise.all((vscode.workspace.workspaceFolders ?? []).map((folder) => findPairs(folder.uri.fsPath))).then((lists) => lists.flat());
    return this.pairsCache;
  }

  getTreeItem(element: PairsTreeNode): vscode.TreeItem {
    return element;
  }

  getParent(_element: PairsTreeNode): vscode.ProviderResult<PairsTreeNode> {
    return undefined; // only needed for reveal of top-level items
  }

  async getChildren(element?: PairsTreeNode): Promise<PairsTreeNode[]> {
    if (element instanceof PairItem) {
      const settings = readSettings(vscode.Uri.file(element.pair.dir));
      const tag = runtimeTagFor(element.pair, settings);
      const children: PairsTreeNode[] = [
        new ImageItem(element.pair, 'builder', element.builder, builderTagFor(tag)),
        new ImageItem(element.pair, 'runtime', element.runtime, tag),
      ];
      if (element.last) children.push(new LastBuildItem(element.pair, element.last));
      return children;
    }
    if (element) return [];

    const pairs = await this.pairs();
    await vscode.commands.executeCommand('setContext', 'dockerception.noPairs', pairs.length === 0);
    this.setMessage(vscode.workspace.isTrusted ? undefined : 'Restricted Mode: building and running are disabled until you trust this workspace.');
    if (pairs.length === 0) return [];

    let sizes: Array<[ImageSize | undefined, ImageSize | undefined]>;
    try {
      const { docker } = await this.builds.connect();
      sizes = await Promise.all(
        pairs.map(async (pair) => {
          const tag = runtimeTagFor(pair, readSettings(vscode.Uri.file(pair.dir)));
          return Promise.all([imageSize(docker, builderTagFor(tag)), imageSize(docker, tag)]);
        }),
      );
      await vscode.commands.executeCommand('setContext', 'dockerception.engineUnreachable', false);
    } catch (error) {
      await vscode.commands.executeCommand('setContext', 'dockerception.engineUnreachable', true);
      this.setMessage(error instanceof DockerceptionError ? error.message : `Cannot reach the Docker engine: ${messageOf(error)}`);
      return [];
    }
    return pairs.map((pair, i) => {
      const last = this.builds.last(pair);
      const [builder, runtime] = sizes[i];
      return new PairItem(pair, builder ?? (last?.ok ? last.builder : undefined), runtime, last, this.builds.phaseOf(pair));
    });
  }

  private setMessage(message: string | undefined): void {
    if (this.view) this.view.message = message;
  }

  dispose(): void {
    clearTimeout(this.refreshTimer);
    this.changed.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
