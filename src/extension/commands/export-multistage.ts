// Export as Multi-Stage Dockerfile: the pair as one Dockerfile (Dockerfile.multistage beside it) that builds
// the same runtime image with a plain `docker build`. Thin over the core's exportPair.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { exportPair, messageOf } from '../../core';
import { readSettings } from '../settings';
import { pairOf, requireTrust, tagsOf, type CommandContext, type Target } from './context';

export const EXPORT_FILE = 'Dockerfile.multistage';

export async function exportMultiStage(context: CommandContext, target: Target): Promise<void> {
  const pair = await pairOf(context, target, 'Export as Multi-Stage Dockerfile');
  if (!pair) return;
  // The export builds the builder image and runs it once: code from the workspace runs.
  if (!requireTrust('Export as Multi-Stage Dockerfile')) return;
  const file = vscode.Uri.file(path.join(pair.dir, EXPORT_FILE));
  const exists = await vscode.workspace.fs.stat(file).then(
    () => true,
    () => false,
  );
  if (exists) {
    const replace = await vscode.window.showWarningMessage(
      `Dockerception: ${vscode.workspace.asRelativePath(file)} already exists. Replace it with a new export of ${pair.name}?`,
      { modal: true },
      'Replace',
    );
    if (replace !== 'Replace') return;
  }
  const settings = readSettings(vscode.Uri.file(pair.dir));
  try {
    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Dockerception: exporting ${pair.name}`, cancellable: true },
      async (progress, token) => {
        const abort = new AbortController();
        token.onCancellationRequested(() => abort.abort());
        const engine = await context.builds.connect();
        return exportPair(engine, pair, {
          builder: settings.builder,
          buildArgs: settings.buildArgs,
          builderTag: tagsOf(pair).builder,
          // The header's `docker build` line, run from the pair's folder, where the file is written.
          outputName: EXPORT_FILE,
          cwd: pair.dir,
          signal: abort.signal,
          onLine: (line) => {
            if (/^ ---> |^Removing intermediate container/.test(line)) return;
            context.output.line(line);
            progress.report({ message: line.slice(0, 80) });
          },
        });
      },
    );
    await vscode.workspace.fs.writeFile(file, new TextEncoder().encode(result.text));
    await vscode.window.showTextDocument(file);
    for (const note of result.notes) context.output.line(`Export note: ${note}`);
    const builders =
      result.needsBuildKit.length > 0 ? `It needs BuildKit (${result.needsBuildKit.join(', ')}).` : 'It builds with BuildKit and with the legacy builder.';
    void vscode.window.showInformationMessage(
      `Dockerception: exported ${pair.name} to ${EXPORT_FILE}. ${builders}` +
        (result.notes.length > 0 ? ` ${result.notes.length} note(s) at its top say what is not carried over exactly.` : ''),
    );
  } catch (error) {
    void vscode.window.showErrorMessage(`Dockerception: the export of ${pair.name} failed: ${messageOf(error)}`);
  }
}
