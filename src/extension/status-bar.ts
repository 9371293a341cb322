import * as vscode from 'vscode';
import { comparedWithBuilder, formatBytes, sizeSummary } from '../core';
import type { Builds } from './builds';
import type { EngineChoice } from './engine-choice';
import { engineStateNow, knownImagesOf, onEngineState, onPushedImage, pushedImageOf, shownTag } from './tree/nodes';

/**
 * The status-bar button: builds the current pair; shows the phase with a spinner while building, the
 * sizes side by side after a success, and opens the output after a failure.
 */
export class BuildStatusBar implements vscode.Disposable {
  private readonly subscriptions: vscode.Disposable[];
  private shown: Parameters<Builds['last']>[0] | undefined;

  constructor(
    private readonly builds: Builds,
    private readonly item: vscode.StatusBarItem,
    private readonly engine: EngineChoice,
  ) {
    this.item.name = 'Dockerception';
    this.subscriptions = [
      builds.onDidChange((pair) => {
        if (pair) void this.update(pair);
      }),
      engine.onDidChange(() => (this.shown ? void this.update(this.shown) : this.idle())),
      builds.onDidChangeAll(() => (this.showAll() ? undefined : this.shown ? void this.update(this.shown) : this.idle())),
      // A push of the pair shown: its pull size joins the tooltip.
      { dispose: onPushedImage((dir) => (this.shown?.dir === dir ? void this.update(this.shown) : undefined)) },
      // The engine went away or came back (the Pairs view looks again every few seconds while it is away).
      { dispose: onEngineState(() => (this.shown ? void this.update(this.shown) : this.idle())) },
    ];
    this.idle();
    this.item.show();
  }

  private engineLine(): string {
    return `Engine: ${this.engine.describe()}`;
  }

  private idle(): void {
    this.item.text = '$(package) Dockerception';
    this.item.tooltip = `Dockerception: build the current pair (builder → tar → runtime)\n\n${this.engineLine()}`;
    this.item.command = 'dockerception.build';
    this.item.backgroundColor = undefined;
    if (!engineStateNow().reachable) {
      this.item.text = '$(debug-disconnect) Dockerception: engine unreachable';
      this.item.tooltip = `The Docker engine cannot be reached. The Pairs view checks again every few seconds; this returns when it answers.\n\n${this.engineLine()}`;
      this.item.command = 'dockerception.refresh';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    }
  }

  /** The engine is away: the pair's sizes as last seen, and what brings the status bar back. */
  private away(pair: Parameters<Builds['last']>[0]): void {
    // Only what this window saw of this engine (the last build may have been on another one).
    const seen = knownImagesOf(pair.dir);
    const at = engineStateNow().lastSeen;
    this.item.text = `$(debug-disconnect) ${pair.name}: engine unreachable`;
    const sizes =
      seen?.builder && seen.runtime
        ? `Last seen${at !== undefined ? ` ${new Date(at).toLocaleString()}` : ''}: builder \`${shownTag(seen.builder.tag)}\` ${formatBytes(seen.builder.size)}, runtime \`${shownTag(seen.runtime.tag)}\` ${formatBytes(seen.runtime.size)}.\n\n`
        : '';
    this.item.tooltip = new vscode.MarkdownString(
      `**${pair.name}**: the Docker engine cannot be reached.\n\n${sizes}The Pairs view checks again every few seconds; the status bar returns when the engine answers. Click to Refresh now.\n\nEngine: \`${this.engine.describe()}\``,
    );
    this.item.command = 'dockerception.refresh';
    this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
  }

  /** While a Build All runs the button shows it as a whole ("Build All 3 of 12"); false when none runs. */
  private showAll(): boolean {
    const all = this.builds.allProgress();
    if (!all) return false;
    this.item.text = `$(sync~spin) Build All ${all.done} of ${all.total}${all.failed ? ` (${all.failed} failed)` : ''}`;
    this.item.tooltip = `Dockerception is building ${all.total} pairs in dependency order. Click to cancel them all.\n\n${this.engineLine()}`;
    this.item.command = 'dockerception.cancelBuildAll';
    this.item.backgroundColor = all.failed ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    return true;
  }

  private async update(pair: Parameters<Builds['last']>[0]): Promise<void> {
    this.shown = pair;
    if (this.showAll()) return;
    const phase = this.builds.phaseOf(pair);
    if (phase) {
      const others = this.builds.runningPairs().length - 1;
      this.item.text = `$(sync~spin) ${pair.name}: ${phase.replace('-', ' ')}${others > 0 ? ` (+${others})` : ''}`;
      this.item.tooltip = `Dockerception is building ${pair.name}. Click to cancel.\n\n${this.engineLine()}`;
      this.item.command = { command: 'dockerception.cancelBuild', title: 'Cancel Build', arguments: [pair] };
      this.item.backgroundColor = undefined;
      return;
    }
    if (!engineStateNow().reachable) return this.away(pair);
    let last = this.builds.last(pair);
    if (!last) return this.idle();
    const known = knownImagesOf(pair.dir);
    // The last build could not reach the engine, which has answered since: the pair's images as the engine has them now.
    const recovered = last.error?.code === 'ENGINE_UNREACHABLE' && known?.builder !== undefined && known.runtime !== undefined;
    if (recovered) last = { at: last.at, ms: 0, ok: true, builder: known.builder, runtime: known.runtime };
    if (last.ok && last.builder && last.runtime) {
      // The pair's name first: the sizes are its. A doctor error outranks them: the image cannot start.
      const sizes = sizeSummary(last.builder.size, last.runtime.size).replace(/ \(.*\)$/, '');
      const errors = (last.doctor ?? []).filter((f) => f.severity === 'error');
      this.item.text = `${errors.length > 0 ? '$(warning)' : '$(package)'} ${pair.name}: ${sizes}${errors.length > 0 ? ' · cannot start' : ''}`;
      const doctor =
        errors.length > 0
          ? `$(warning) **The runtime image cannot start**: ${errors[0].code}: ${errors[0].message}${errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''}\n\n`
          : '';
      const tooltip = new vscode.MarkdownString(
        doctor +
          (recovered
            ? `**${pair.name}**: its last build (${new Date(last.at).toLocaleString()}) could not reach the engine; the engine is back, and these are its images\n\n`
            : `**${pair.name}** ${last.upToDate ? 'was up to date' : 'built'} in ${(last.ms / 1000).toFixed(1)} s\n\n`) +
          `| | image | size |\n|---|---|---:|\n| builder | \`${shownTag(last.builder.tag)}\` | ${formatBytes(last.builder.size)} |\n` +
          `| runtime | \`${shownTag(last.runtime.tag)}\` | ${formatBytes(last.runtime.size)} |\n` +
          pullRow(pair.dir, last.runtime.id) +
          '\n' +
          `The runtime image is ${comparedWithBuilder(last.builder.size, last.runtime.size)}. Click to build again, or ` +
          `[show where the bytes are](command:dockerception.showReport?${encodeURIComponent(JSON.stringify([pair]))}).\n\n` +
          `Engine: \`${this.engine.describe()}\``,
        true,
      );
      tooltip.isTrusted = { enabledCommands: ['dockerception.showReport'] };
      this.item.tooltip = tooltip;
      this.item.command = 'dockerception.build';
      this.item.backgroundColor = errors.length > 0 ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    } else if (last.error?.code === 'CANCELLED') {
      this.idle();
      this.item.text = `$(circle-slash) ${pair.name}: cancelled`;
    } else {
      this.item.text = `$(error) ${pair.name}: ${last.error?.code ?? 'failed'}`;
      this.item.tooltip = `${last.error?.message ?? 'The last build failed.'}\n\nClick to open the output.\n\n${this.engineLine()}`;
      this.item.command = 'dockerception.showOutput';
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    }
  }

  dispose(): void {
    for (const subscription of this.subscriptions) subscription.dispose();
    this.item.dispose();
  }
}

/** The tooltip's row for what a pull of the pushed runtime image downloads, when this image was pushed. */
function pullRow(dir: string, runtimeId: string): string {
  const pushed = pushedImageOf(dir);
  if (!pushed || pushed.runtimeId !== runtimeId || pushed.pullSize === undefined) return '';
  return `| to pull | \`${pushed.canonical}\` | ${formatBytes(pushed.pullSize)} |\n`;
}
