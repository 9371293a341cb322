import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
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

/** A context in the docker CLI's store, as `docker context ls` lists it. */
export interface DockerContext {
  name: string;
  /** Its Docker endpoint (undefined with `problem`). */
  host?: string;
  /** It stores TLS material or skips verification: the address alone does not reach it. */
  tls?: boolean;
  /** Why it cannot be used, for people. */
  problem?: string;
}

/**
 * The docker CLI's contexts, read as the CLI reads them: every contexts/meta/<sha256(name)>/meta.json under
 * the config folder (DOCKER_CONFIG, else ~/.docker), plus 'default', which the CLI always lists. Sorted by
 * name with 'default' first, as `docker context ls` prints them.
 */
export function listContexts(env: NodeJS.ProcessEnv = process.env): DockerContext[] {
  const configDir = dockerConfigDir(env);
  const metaDir = path.join(configDir, 'contexts', 'meta');
  const found: DockerContext[] = [];
  let ids: string[] = [];
  try {
    ids = readdirSync(metaDir);
  } catch {
    ids = []; // no contexts made yet: only the default
  }
  for (const id of ids) {
    const file = path.join(metaDir, id, 'meta.json');
    let meta: { Name?: unknown; Endpoints?: { docker?: { Host?: unknown; SkipTLSVerify?: unknown } } };
    try {
      meta = JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      found.push({ name: id, problem: `${file} cannot be read (${messageOf(error)}): run 'docker context ls' to see what the docker CLI makes of it.` });
      continue;
    }
    if (typeof meta.Name !== 'string' || !meta.Name) continue;
    const endpoint = meta.Endpoints?.docker;
    if (typeof endpoint?.Host !== 'string' || !endpoint.Host) {
      found.push({ name: meta.Name, problem: `It has no Docker endpoint: run 'docker context inspect ${meta.Name}' to see it.` });
      continue;
    }
    const tls = existsSync(path.join(configDir, 'contexts', 'tls', id, 'docker')) || endpoint.SkipTLSVerify === true;
    found.push({ name: meta.Name, host: endpoint.Host, ...(tls ? { tls } : {}) });
  }
  found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [{ name: 'default' }, ...found.filter((c) => c.name !== 'default')];
}
