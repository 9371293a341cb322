import * as vscode from 'vscode';
import { describeEngine, dockerConfigDir, messageOf, resolveEngine, type EngineAddress } from '../core';
import { readSettings } from './settings';

/**
 * Which engine the extension talks to and why, as the docker CLI would choose it: the dockerception.host
 * setting, else DOCKER_HOST, else the current docker context, else the default. Watches the setting and
 * the docker CLI's config (config.json's currentContext, the contexts' endpoints), so that
 * `docker context use` or a settings change applies without a reload.
 */
export class EngineChoice implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscriptions: vscode.Disposable[] = [];
  private described: string;

  constructor() {
    this.described = this.describe();
    const configDir = vscode.Uri.file(dockerConfigDir());
    for (const pattern of ['config.json', 'contexts/meta/**/meta.json']) {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(configDir, pattern));
      this.subscriptions.push(
        watcher,
        watcher.onDidChange(() => this.check()),
        watcher.onDidCreate(() => this.check()),
        watcher.onDidDelete(() => this.check()),
      );
    }
    this.subscriptions.push(
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (event.affectsConfiguration('dockerception.host')) this.check();
      }),
    );
  }

  /** The address builds connect to now, or why none can be chosen (an unreadable context, say). */
  address(): EngineAddress | Error {
    try {
      return resolveEngine({ host: readSettings().host, hostSource: 'setting', surface: 'vscode' });
    } catch (error) {
      return error instanceof Error ? error : new Error(messageOf(error));
    }
  }

  /** "ssh://build-box (from DOCKER_HOST)", for tooltips and the view's description. */
  describe(): string {
    const address = this.address();
    return address instanceof Error ? address.message : describeEngine(address);
  }

  /** Short enough for the view's title bar: the URL alone. */
  label(): string {
    const address = this.address();
    return address instanceof Error ? 'no engine' : address.url;
  }

  private check(): void {
    const now = this.describe();
    if (now === this.described) return;
    this.described = now;
    this.changed.fire();
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.changed.dispose();
  }
}
