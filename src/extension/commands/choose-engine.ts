// Choose the Docker Engine (issue 26): a quick pick of what the docker CLI knows — its contexts (as
// `docker context ls` lists them), DOCKER_HOST when set, the default, "Use the docker CLI's choice" (clears
// the setting) and "Enter an address…" — written to dockerception.host in the scope where it takes effect.
// dockerception.host is machine-overridable: in a remote window (Remote-SSH, WSL, containers, code-server)
// the local User settings do not apply to it; ConfigurationTarget.Global from the extension host is written
// to the remote machine's settings there (measured in code-server, test/e2e/choose-ui.test.ts). When the
// write fails or does not take effect, the Settings editor opens on the tab where the setting applies.
import * as vscode from 'vscode';
import { defaultUrl, describeEngine, dockerConfigDir, dockerOptions, messageOf, normalizeHost, resolveEngine } from '../../core';
import { listContexts, type DockerContext } from '../engine-choice';
import type { CommandContext } from './context';

const SETTING = 'host';
const FULL_SETTING = `dockerception.${SETTING}`;

interface EngineItem extends vscode.QuickPickItem {
  /** The value to write: an address, or undefined to clear the setting. */
  write?: { host: string | undefined };
  enter?: true;
  /** A context whose TLS material the setting cannot carry: picking it explains instead of writing. */
  tlsContext?: string;
}

/** Why `written` is not an engine address, as the build would say it, or undefined when it is one. */
export function addressProblem(written: string): string | undefined {
  if (!written.trim()) return 'Enter an address such as unix:///var/run/docker.sock, tcp://host:2375 or ssh://user@host.';
  try {
    dockerOptions({ url: normalizeHost(written), source: 'setting' });
    return undefined;
  } catch (error) {
    return messageOf(error);
  }
}

/** Where the setting's value would take effect: the folder or workspace when one overrides it, else the user's (remote) settings. */
function targetFor(config: vscode.WorkspaceConfiguration): vscode.ConfigurationTarget {
  const seen = config.inspect<string>(SETTING);
  if (seen?.workspaceFolderValue !== undefined) return vscode.ConfigurationTarget.WorkspaceFolder;
  if (seen?.workspaceValue !== undefined) return vscode.ConfigurationTarget.Workspace;
  return vscode.ConfigurationTarget.Global;
}

function targetName(target: vscode.ConfigurationTarget): string {
  if (target === vscode.ConfigurationTarget.Workspace) return 'Workspace settings';
  if (target === vscode.ConfigurationTarget.WorkspaceFolder) return 'Folder settings';
  return vscode.env.remoteName ? 'Remote settings' : 'User settings';
}

/** The Settings editor on the tab where dockerception.host applies, searched for it. */
export async function openEngineSettings(target = vscode.ConfigurationTarget.Global): Promise<void> {
  if (target === vscode.ConfigurationTarget.Workspace || target === vscode.ConfigurationTarget.WorkspaceFolder) {
    await vscode.commands.executeCommand('workbench.action.openWorkspaceSettings', { query: FULL_SETTING });
  } else if (vscode.env.remoteName) {
    await vscode.commands.executeCommand('workbench.action.openRemoteSettings', { query: FULL_SETTING });
  } else {
    await vscode.commands.executeCommand('workbench.action.openSettings', FULL_SETTING);
  }
}

function items(env: NodeJS.ProcessEnv, setting: string | undefined): EngineItem[] {
  const chosen = setting ? normalizeHost(setting) : undefined;
  let current = false;
  const mark = (url: string) => {
    if (current || chosen !== url) return '';
    current = true;
    return ' · current';
  };
  let cliChoice: string;
  try {
    cliChoice = describeEngine(resolveEngine({ env }));
  } catch (error) {
    cliChoice = messageOf(error);
  }
  const list: EngineItem[] = [
    {
      label: "$(terminal) Use the docker CLI's choice",
      description: `${cliChoice}${setting ? '' : ' · current'}`,
      detail: 'Clears dockerception.host: DOCKER_HOST, else the current docker context, as `docker` picks it.',
      write: { host: undefined },
    },
  ];
  if (!setting) current = true;
  const contexts: DockerContext[] = listContexts(env);
  list.push({ label: 'docker contexts', kind: vscode.QuickPickItemKind.Separator });
  const fallback = defaultUrl(process.platform);
  list.push({
    label: '$(server) default',
    description: `${fallback}${mark(fallback)}`,
    detail: 'The default context: the engine on this machine.',
    write: { host: fallback },
  });
  for (const context of contexts) {
    if (context.name === 'default') continue;
    if (context.problem) {
      list.push({ label: `$(warning) ${context.name}`, description: context.problem });
      continue;
    }
    const url = context.host ?? '';
    list.push({
      label: `$(server) ${context.name}`,
      description: `${url}${mark(url)}`,
      ...(context.tls
        ? {
            detail: `Uses TLS: the setting cannot carry its certificates; run 'docker context use ${context.name}' and pick "Use the docker CLI's choice".`,
            tlsContext: context.name,
          }
        : { write: { host: url } }),
    });
  }
  const fromEnv = env.DOCKER_HOST?.trim();
  if (fromEnv) {
    list.push({ label: 'environment', kind: vscode.QuickPickItemKind.Separator });
    const url = normalizeHost(fromEnv);
    list.push({ label: '$(symbol-variable) DOCKER_HOST', description: `${url}${mark(url)}`, write: { host: url } });
  }
  list.push({ label: '', kind: vscode.QuickPickItemKind.Separator });
  if (setting && !current) list.push({ label: '$(gear) The setting', description: `${chosen} · current`, write: { host: setting } });
  list.push({ label: '$(edit) Enter an address…', detail: 'unix:///path, tcp://host:port, ssh://[user@]host[:port] or npipe:////./pipe/name', enter: true });
  return list;
}

export async function chooseEngine(context: CommandContext, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = vscode.workspace.getConfiguration('dockerception');
  const setting = config.get<string>(SETTING, '').trim() || undefined;
  let list: EngineItem[];
  try {
    list = items(env, setting);
  } catch (error) {
    void vscode.window.showErrorMessage(
      `Dockerception: the docker CLI's contexts in ${dockerConfigDir(env)} cannot be read (${messageOf(error)}). The Settings editor is open instead.`,
    );
    return openEngineSettings(targetFor(config));
  }
  const picked = await vscode.window.showQuickPick(list, {
    title: 'Choose the Docker Engine',
    placeHolder: 'Which engine should Dockerception build on?',
    matchOnDescription: true,
  });
  if (!picked) return;
  let host: string | undefined;
  if (picked.tlsContext) {
    void vscode.window.showWarningMessage(
      `Dockerception: the docker context '${picked.tlsContext}' uses TLS, and dockerception.host cannot carry its certificates. Run 'docker context use ${picked.tlsContext}' in a terminal, then choose "Use the docker CLI's choice".`,
    );
    return;
  }
  if (picked.enter) {
    const written = await vscode.window.showInputBox({
      title: 'Choose the Docker Engine: enter an address',
      prompt: 'unix:///var/run/docker.sock, tcp://host:2375, ssh://user@host or npipe:////./pipe/docker_engine',
      value: setting ?? '',
      validateInput: addressProblem,
    });
    if (written === undefined) return;
    host = normalizeHost(written);
  } else if (picked.write) {
    host = picked.write.host;
  } else {
    return;
  }
  const target = targetFor(config);
  try {
    await config.update(SETTING, host, target);
  } catch (error) {
    void vscode.window.showErrorMessage(
      `Dockerception: could not write ${FULL_SETTING} to the ${targetName(target)} (${messageOf(error)}). The Settings editor is open: set it there.`,
    );
    return openEngineSettings(target);
  }
  const now = vscode.workspace.getConfiguration('dockerception').get<string>(SETTING, '').trim() || undefined;
  if (now !== host) {
    void vscode.window.showWarningMessage(
      `Dockerception: ${FULL_SETTING} was written to the ${targetName(target)}, but another scope overrides it (it reads '${now ?? ''}'). The Settings editor is open: change it where it applies.`,
    );
    return openEngineSettings(target);
  }
  context.builds.resetConnection();
  context.tree.refresh();
  let engine: string;
  try {
    engine = describeEngine(resolveEngine({ host, hostSource: 'setting', surface: 'vscode', env }));
  } catch (error) {
    engine = messageOf(error);
  }
  void vscode.window.showInformationMessage(`Dockerception: builds now use ${engine}${host === undefined ? '' : ` (written to the ${targetName(target)})`}.`);
}
