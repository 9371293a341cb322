import * as vscode from 'vscode';
import { comparedWithBuilder, formatBytes, sizeSummary } from '../core';
import type { Builds } from './builds';
import type { EngineChoice } from './engine-choice';
import { onPushedImage, pushedImageOf } from './tree/nodes';

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
    const last = this.builds.last(pair);
    if (!last) return this.idle();
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
          `**${pair.name}** ${last.upToDate ? 'was up to date' : 'built'} in ${(last.ms / 1000).toFixed(1)} s\n\n` +
          `| | image | size |\n|---|---|---:|\n| builder | \`${last.builder.tag}\` | ${formatBytes(last.builder.size)} |\n` +
          `| runtime | \`${last.runtime.tag}\` | ${formatBytes(last.runtime.size)} |\n` +
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
