// Run Runtime Image: `docker run` in a terminal, publishing the image's EXPOSEd ports.
import * as vscode from 'vscode';
import { readSettings } from '../settings';
import { pairOf, requireTrust, tagsOf, type CommandContext, type Target } from './context';

/** The terminal's docker CLI talks to the same engine as the extension when a host is set. */
function hostEnv(): Record<string, string> | undefined {
  const host = readSettings().host;
  return host ? { DOCKER_HOST: host } : undefined;
}

export async function runRuntimeImage(context: CommandContext, target: Target): Promise<void> {
  if (!requireTrust('Running images')) return;
  const pair = await pairOf(context, target, 'Run Runtime Image');
  if (!pair) return;
  const { runtime } = tagsOf(pair);
  const { docker } = await context.builds.connect();
  let ports: string[];
  try {
    ports = Object.keys((await docker.getImage(runtime).inspect()).Config?.ExposedPorts ?? {});
  } catch {
    void vscode.window.showWarningMessage(`Dockerception: there is no image ${runtime} yet. Build ${pair.name} first.`, 'Build').then((choice) => {
      if (choice) void context.builds.build(pair);
    });
    return;
  }
  // Publish every EXPOSEd port on the same host port, as a person would type it.
  const publish = ports.map((p) => `-p ${p.split('/')[0]}:${p}`).join(' ');
  const terminal = vscode.window.createTerminal({ name: `Dockerception: ${pair.name}`, env: hostEnv() });
  terminal.show();
  terminal.sendText(`docker run --rm -it ${publish} ${runtime}`.replace(/ {2,}/g, ' '));
}
