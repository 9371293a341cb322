// Finding the workspace's pairs, and noticing when they change. Discovery asks VS Code's file search
// (ripgrep, honouring the user's files.exclude) for every Dockerfile.run and keeps the folders that
// also hold a Dockerfile; folders of other people's code (SKIPPED_FOLDERS) are left out as in the CLI.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BUILDER_DOCKERFILE, pairFor, RUNTIME_DOCKERFILE, SKIPPED_FOLDERS, type Pair } from '../../core';

const inSkippedFolder = (file: string) => file.split(/[\\/]+/).some((segment) => SKIPPED_FOLDERS.has(segment));

async function isFile(file: string): Promise<boolean> {
  return vscode.workspace.fs.stat(vscode.Uri.file(file)).then(
    (stat) => (stat.type & vscode.FileType.File) !== 0,
    () => false,
  );
}

/**
 * The pair in `dir`, named by the core's rule (pairName) from its workspace folder, the same name the CLI
 * gives it from that folder; in a workspace of several folders the folder's name goes in front.
 */
export function workspacePair(dir: string): Pair {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(dir));
  if (!folder) return pairFor(dir);
  const several = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
  return pairFor(dir, folder.uri.fsPath, several ? folder.name : undefined);
}

/** Every pair in the workspace's folders, named from their folders (see workspacePair), sorted by folder. */
export async function discoverPairs(): Promise<Pair[]> {
  const runtimes = await vscode.workspace.findFiles(`**/${RUNTIME_DOCKERFILE}`);
  const dirs = [...new Set(runtimes.map((uri) => path.dirname(uri.fsPath)).filter((dir) => !inSkippedFolder(dir)))];
  const withBuilder = await Promise.all(dirs.map(async (dir) => ((await isFile(path.join(dir, BUILDER_DOCKERFILE))) ? dir : undefined)));
  const pairs = withBuilder.filter((dir): dir is string => dir !== undefined).map((dir) => workspacePair(dir));
  return pairs.sort((a, b) => a.dir.localeCompare(b.dir));
}

/** Folder candidates looked at per burst of file events, at most. */
const MAX_STATS_PER_BURST = 20;

/** The pairs, found once and found again when files that could make or break a pair come and go. */
export class PairDiscovery implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private cache: Promise<Pair[]> | undefined;
  private created: vscode.Uri[] = [];
  private pairFileChanged = false;
  private timer: NodeJS.Timeout | undefined;

  constructor() {
    // Every create and delete, not only of Dockerfiles: a folder copied or moved in (or deleted) as a
    // whole may be reported as that folder alone, without events for the files inside it.
    const watcher = vscode.workspace.createFileSystemWatcher('**/*', false, true, false);
    this.disposables.push(
      watcher,
      watcher.onDidCreate((uri) => this.onFileEvent(uri, 'created')),
      watcher.onDidDelete((uri) => this.onFileEvent(uri, 'deleted')),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh()),
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('files.exclude') && this.refresh()),
    );
  }

  pairs(): Promise<Pair[]> {
    this.cache ??= discoverPairs();
    return this.cache;
  }

  refresh(): void {
    this.cache = undefined;
    this.changed.fire();
  }

  private onFileEvent(uri: vscode.Uri, kind: 'created' | 'deleted'): void {
    if (inSkippedFolder(uri.fsPath)) return;
    const name = path.basename(uri.fsPath);
    if (name === BUILDER_DOCKERFILE || name === RUNTIME_DOCKERFILE) this.pairFileChanged = true;
    else if (kind === 'created') this.created.push(uri);
    else void this.onDeleted(uri);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.settle(), 150);
  }

  private async onDeleted(uri: vscode.Uri): Promise<void> {
    const known = this.cache ? await this.cache : [];
    if (known.some((pair) => pair.dir === uri.fsPath || pair.dir.startsWith(`${uri.fsPath}${path.sep}`))) this.pairFileChanged = true;
  }

  /** File events come in bursts (a folder copied in, a checkout): decide once they settle. */
  private async settle(): Promise<void> {
    const created = this.created.splice(0, this.created.length);
    let folderCame = false;
    for (const uri of created.slice(0, MAX_STATS_PER_BURST)) {
      const stat = await vscode.workspace.fs.stat(uri).then(
        (s) => s,
        () => undefined,
      );
      if (stat && stat.type & vscode.FileType.Directory) {
        folderCame = true;
        break;
      }
    }
    if (this.pairFileChanged || folderCame) {
      this.pairFileChanged = false;
      this.refresh();
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.changed.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
