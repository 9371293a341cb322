// The `dockerception` task type: {"type": "dockerception", "pair": "services/api", "force": false}, one
// provided for every pair (Run Task), resolvable from tasks.json and usable as a preLaunchTask. It runs the
// CLI (dist/cli.js) with the Node that runs VS Code's extension host, in the terminal, with the folder's
// settings passed as options; the "$dockerception" problem matcher reads the CLI's `FILE:LINE: error CODE:
// message` lines (src/cli/diagnostic-lines.ts) into the Problems panel.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { builderTagFor, type Pair } from '../../core';
import { readSettings, runtimeTagFor, runtimeTagsFor, type Settings } from '../settings';

export const TASK_TYPE = 'dockerception';
export const PROBLEM_MATCHER = '$dockerception';

export interface DockerceptionTaskDefinition extends vscode.TaskDefinition {
  /** The pair's folder, relative to its workspace folder ("services/api"; "." for the folder itself). */
  pair: string;
  /** Run everything even when nothing changed (the CLI's --force). */
  force?: boolean;
}

/** The pair's folder as tasks.json names it: relative to its workspace folder, with forward slashes. */
export function taskPairOf(pair: Pair): { folder: vscode.WorkspaceFolder | undefined; relative: string } {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(pair.dir));
  const relative = folder ? path.relative(folder.uri.fsPath, pair.dir).split(path.sep).join('/') || '.' : pair.dir;
  return { folder, relative };
}

export class PairTasks implements vscode.TaskProvider {
  constructor(
    private readonly pairs: () => Promise<readonly Pair[]>,
    /** dist/cli.js of this extension. */
    private readonly cli: string,
  ) {}

  async provideTasks(): Promise<vscode.Task[]> {
    const pairs = await this.pairs();
    return pairs.flatMap((pair) => {
      const { folder, relative } = taskPairOf(pair);
      return [false, true].map((force) =>
        this.taskFor({ type: TASK_TYPE, pair: relative, ...(force ? { force } : {}) }, folder ?? vscode.TaskScope.Workspace, pair),
      );
    });
  }

  async resolveTask(task: vscode.Task): Promise<vscode.Task | undefined> {
    const definition = task.definition as DockerceptionTaskDefinition;
    if (typeof definition.pair !== 'string' || definition.pair === '') return undefined;
    const folder = typeof task.scope === 'object' ? task.scope : vscode.workspace.workspaceFolders?.[0];
    const dir = path.resolve(folder?.uri.fsPath ?? '', definition.pair);
    const pair = (await this.pairs()).find((p) => p.dir === dir);
    // The same definition object, as VS Code requires of a resolved task.
    return this.taskFor(definition, task.scope ?? vscode.TaskScope.Workspace, pair, dir);
  }

  private taskFor(
    definition: DockerceptionTaskDefinition,
    scope: vscode.WorkspaceFolder | vscode.TaskScope.Workspace | vscode.TaskScope.Global,
    pair: Pair | undefined,
    dir = pair?.dir ?? '',
  ): vscode.Task {
    const settings = readSettings(vscode.Uri.file(dir));
    const args = [this.cli, 'build', dir];
    // Every tag of dockerception.runtimeTag, expanded as a build from the view expands them (the first is the
    // image's own); a template that cannot be expanded leaves the primary one, and the CLI's build says why.
    if (pair) for (const tag of tagsOrPrimary(pair, settings)) args.push('--tag', tag);
    if (definition.force) args.push('--force');
    if (settings.host) args.push('--host', settings.host);
    if (settings.builder !== 'auto') args.push('--builder', settings.builder);
    if (settings.noCache) args.push('--no-cache');
    if (settings.doctorStrict !== 'off') args.push(settings.doctorStrict === 'warnings' ? '--strict=warnings' : '--strict');
    for (const [key, value] of Object.entries(settings.buildArgs)) args.push('--build-arg', `${key}=${value}`);
    // The extension host's Node: VS Code's own executable run as Node (Electron), or node (code-server).
    const execution = new vscode.ProcessExecution(process.execPath, args, {
      cwd: dir,
      env: { ELECTRON_RUN_AS_NODE: '1' },
    });
    const name = `build ${pair?.name ?? definition.pair}${definition.force ? ' (force)' : ''}`;
    const task = new vscode.Task(definition, scope, name, TASK_TYPE, execution, PROBLEM_MATCHER);
    task.group = vscode.TaskGroup.Build;
    task.detail = pair ? `builder ${builderTagFor(runtimeTagFor(pair, settings))} → runtime ${runtimeTagFor(pair, settings)}` : `${dir} (no pair there yet)`;
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, clear: true };
    return task;
  }
}

function tagsOrPrimary(pair: Pair, settings: Settings): string[] {
  try {
    return runtimeTagsFor(pair, settings);
  } catch {
    return [runtimeTagFor(pair, settings)];
  }
}
