import * as vscode from 'vscode';
import {
  describeContext,
  describeFinding,
  describeStep,
  formatBytes,
  sizeTable,
  type BuildResult,
  type DockerceptionError,
  type Pair,
  type ProgressEvent,
} from '../core';

/** The "Dockerception" output channel: every phase, both builds' steps as they stream, the builder's
 * stderr, the side-by-side table, and failures with what to do. */
export class BuildOutput implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('Dockerception');

  /** observe: sees every line written (VS Code offers no way to read a channel back). */
  constructor(private readonly observe?: (line: string) => void) {}

  private appendLine(line: string): void {
    this.channel.appendLine(line);
    this.observe?.(line);
  }

  /** Builds whose lines are coming in: with more than one, each line says whose it is. */
  private readonly active = new Set<string>();
  /** During a Build All every line says whose it is. */
  private all = false;

  buildingAll(on: boolean): void {
    this.all = on;
  }

  /** A line of its own (Build All's start, skips and summary). */
  line(text: string): void {
    this.appendLine(text);
  }

  private named(): boolean {
    return this.all || this.active.size > 1;
  }

  started(pair: Pair, tag: string): void {
    this.active.add(pair.dir);
    this.appendLine('');
    this.appendLine(`━━ ${new Date().toLocaleTimeString()}  Building ${pair.name} → ${tag}  (${pair.dir})`);
  }

  event(pair: Pair, event: ProgressEvent): void {
    const line = this.lineOf(event);
    if (line === undefined) return;
    this.appendLine(this.named() ? `[${pair.name}] ${line}` : line);
  }

  private lineOf(event: ProgressEvent): string | undefined {
    switch (event.type) {
      case 'phase':
        return `==> ${event.message}`;
      case 'step':
        return describeStep(event.role, event.step);
      case 'finding':
        return `  doctor: ${describeFinding(event.finding)}`;
      case 'log':
        if (/^ ---> |^Removing intermediate container/.test(event.line)) return undefined;
        return `${event.source === 'builder-stderr' ? '  builder| ' : '  '}${event.line}`;
    }
  }

  /** A build of `pair` ended (however): its lines stop coming. */
  finished(pair: Pair): void {
    this.active.delete(pair.dir);
  }

  succeeded(result: BuildResult): void {
    // Several builds at once: every line says whose it is, and what came of it.
    const who = this.named() ? `[${result.pair.name}] ` : '';
    const line = (text: string) => this.appendLine(`${who}${text}`);
    this.finished(result.pair);
    line(`${who ? `${result.upToDate ? 'up to date' : 'built'}: ` : ''}${describeContext(result.context)}; ${(result.timings.totalMs / 1000).toFixed(1)} s`);
    if (!who) this.appendLine('');
    for (const row of sizeTable(result.builder, result.runtime).split('\n')) line(`  ${row}`);
    if (result.growth) {
      const { sizeDelta, changes, since } = result.growth;
      line(`  Since the build of ${new Date(since.recordedAt).toLocaleString()}: ${sizeDelta >= 0 ? '+' : '−'}${formatBytes(Math.abs(sizeDelta))}`);
      for (const c of changes.slice(0, 5)) line(`    ${c.delta >= 0 ? '+' : '−'}${formatBytes(Math.abs(c.delta))}  ${c.path} (${c.change})`);
    }
  }

  failed(pair: Pair, error: DockerceptionError): void {
    this.finished(pair);
    this.appendLine('');
    this.appendLine(`✖ ${this.all || this.active.size > 0 ? `${pair.name}: ` : ''}${error.code} (${error.phase}): ${error.message}`);
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
