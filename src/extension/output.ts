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

  started(pair: Pair, tag: string): void {
    this.active.add(pair.dir);
    this.appendLine('');
    this.appendLine(`━━ ${new Date().toLocaleTimeString()}  Building ${pair.name} → ${tag}  (${pair.dir})`);
  }

  event(pair: Pair, event: ProgressEvent): void {
    const line = this.lineOf(event);
    if (line === undefined) return;
    this.appendLine(this.active.size > 1 ? `[${pair.name}] ${line}` : line);
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
    this.finished(result.pair);
    this.appendLine(`${describeContext(result.context)}; ${(result.timings.totalMs / 1000).toFixed(1)} s`);
    this.appendLine('');
    for (const line of sizeTable(result.builder, result.runtime).split('\n')) this.appendLine(`  ${line}`);
    if (result.growth) {
      const { sizeDelta, changes, since } = result.growth;
      this.appendLine(`  Since the build of ${new Date(since.recordedAt).toLocaleString()}: ${sizeDelta >= 0 ? '+' : '−'}${formatBytes(Math.abs(sizeDelta))}`);
      for (const c of changes.slice(0, 5)) this.appendLine(`    ${c.delta >= 0 ? '+' : '−'}${formatBytes(Math.abs(c.delta))}  ${c.path} (${c.change})`);
    }
  }

  failed(pair: Pair, error: DockerceptionError): void {
    this.finished(pair);
    this.appendLine('');
    this.appendLine(`✖ ${this.active.size > 0 ? `${pair.name}: ` : ''}${error.code} (${error.phase}): ${error.message}`);
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
