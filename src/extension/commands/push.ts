// Push Runtime Image: the pair's runtime image under every tag dockerception.runtimeTag gives (a list: the
// first is the one the view shows), each to the registry it names, with the docker CLI's
// credentials; a cancellable notification, a line per layer in the output channel, and afterwards the
// pull size on the pair's row and the digest in its tooltip (and Copy Digest).
import * as vscode from 'vscode';
import { DockerceptionError, formatBytes, isShipError, pushableRefs, messageOf, registryCredentials, shipPair, type ShipPairResult } from '../../core';
import { setPushedImage } from '../tree/nodes';
import { readSettings, runtimeTagsFor } from '../settings';
import { pairOf, requireTrust, type CommandContext, type Target } from './context';

export async function pushRuntimeImage(context: CommandContext, target: Target): Promise<ShipPairResult | undefined> {
  if (!requireTrust('Pushing images')) return undefined;
  const pair = await pairOf(context, target, 'Push Runtime Image');
  if (!pair) return undefined;
  const { output } = context;
  let refs: string[];
  try {
    refs = runtimeTagsFor(pair, readSettings(vscode.Uri.file(pair.dir)));
  } catch (error) {
    void vscode.window.showErrorMessage(`Dockerception: ${messageOf(error)}`);
    return undefined;
  }
  const runtime = refs[0];
  // A plain name ('app:1') is Docker Hub's library/…, where nobody can push: it stays the engine's name.
  let toPush: string[];
  let local: string[];
  try {
    ({ push: toPush, local } = pushableRefs(refs, pair.name));
  } catch (error) {
    void vscode.window.showErrorMessage(`Dockerception: ${messageOf(error)}`);
    return undefined;
  }
  let engine;
  try {
    engine = await context.builds.connect();
  } catch (error) {
    void vscode.window.showErrorMessage(
      `Dockerception: ${error instanceof DockerceptionError ? error.message : `Cannot reach the Docker engine: ${messageOf(error)}`}`,
    );
    return undefined;
  }
  const image = await engine.docker
    .getImage(runtime)
    .inspect()
    .catch(() => undefined);
  if (!image) {
    void vscode.window.showWarningMessage(`Dockerception: there is no image ${runtime} to push yet. Build ${pair.name} first.`, 'Build').then((choice) => {
      if (choice) void context.builds.build(pair);
    });
    return undefined;
  }
  output.line('');
  output.line(`━━ ${new Date().toLocaleTimeString()}  Pushing ${pair.name} → ${toPush.join(', ')}  (${pair.dir})`);
  if (local.length > 0) output.line(`  not pushed: ${local.join(', ')} (no registry in the name: it stays on the engine)`);
  try {
    const credentials = await registryCredentials();
    const shipped = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Dockerception: pushing ${toPush.length > 1 ? `${toPush[0]} and ${toPush.length - 1} more tag(s)` : toPush[0]}`,
        cancellable: true,
      },
      (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        return shipPair(engine, {
          pairDir: pair.dir,
          pairName: pair.name,
          runtimeTag: runtime,
          refs: toPush,
          credentials,
          signal: abort.signal,
          onEvent: (event) => {
            if (event.kind === 'pushing' || event.kind === 'preparing' || event.kind === 'waiting') return;
            output.line(event.kind === 'start' ? `==> ${event.message}` : `  ${event.message}`);
            if ('layer' in event) progress.report({ message: event.message });
          },
        });
      },
    );
    const { main } = shipped;
    setPushedImage(pair.dir, {
      runtimeId: shipped.runtimeId,
      ref: main.ref,
      digest: main.digest,
      canonical: main.canonical,
      pullSize: main.pullSize,
      at: new Date().toISOString(),
    });
    const pull = main.pullSize !== undefined ? `${formatBytes(main.pullSize)} to pull` : `pull size unknown: ${main.pullSizeUnknown}`;
    for (const other of shipped.pushed.slice(1)) output.line(`Pushed ${other.ref} as ${other.canonical}, ${(other.elapsedMs / 1000).toFixed(1)} s`);
    output.line(`Pushed ${main.canonical}: ${pull} (runtime ${formatBytes(image.Size)}), ${(main.elapsedMs / 1000).toFixed(1)} s`);
    if (shipped.recordProblem) output.line(shipped.recordProblem);
    context.tree.refresh();
    void context.reports.refresh(pair);
    const more =
      shipped.pushed.length > 1
        ? `, also as ${shipped.pushed
            .slice(1)
            .map((p) => p.ref)
            .join(', ')}`
        : '';
    void vscode.window.showInformationMessage(`Dockerception: pushed ${main.canonical} (${pull})${more}.`, 'Copy Digest').then((choice) => {
      if (choice) void vscode.commands.executeCommand('dockerception.copyDigest', pair);
    });
    return shipped;
  } catch (error) {
    const message = isShipError(error) ? error.message : `Unexpected failure: ${messageOf(error)}. Please report it with the output.`;
    const code = isShipError(error) ? error.code : 'PUSH_FAILED';
    output.line(`✖ ${code} (push): ${message}`);
    if (code === 'CANCELLED') void vscode.window.showInformationMessage(`Dockerception: ${message}`);
    else
      void vscode.window.showErrorMessage(`Dockerception: ${message}`, 'Show Output').then((choice) => {
        if (choice) output.show();
      });
    return undefined;
  }
}
