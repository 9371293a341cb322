import * as vscode from 'vscode';
import {
  DockerceptionError,
  buildPair,
  builderTagFor,
  connectEngine,
  formatBytes,
  messageOf,
  sizeSummary,
  type Engine,
  type Finding,
  type ImageSize,
  type Pair,
  type Phase,
} from '../core';
import type { BuildOutput } from './output';
import { readSettings, runtimeTagFor } from './settings';

/** What the tree, the status bar and the report show about a pair's last build; kept in workspace state. */
export interface LastBuild {
  at: number;
  ms: number;
  ok: boolean;
  error?: { code: string; message: string };
  builder?: ImageSize;
  runtime?: ImageSize;
  dockerfileSource?: 'builder-output' | 'pair';
  /** The doctor's findings for the runtime image. */
  doctor?: Finding[];
}

interface Running {
  pair: Pair;
  /** Run everything even when nothing changed (Build (Force)). */
  force: boolean;
  phase: Phase | 'connect';
  abort: AbortController;
  done: Promise<LastBuild | undefined>;
}

const LAST_BUILDS_KEY = 'dockerception.lastBuilds';
const HISTORY_KEY = 'dockerception.sizeHistory';
/** Builds kept per pair for the size chart. */
const HISTORY_CAP = 50;

export interface SizeRecord {
  at: number;
  builder: number;
  runtime: number;
}

/**
 * Runs builds through the core: one build per pair at a time (asking again reveals the running one),
 * different pairs in parallel. Everything that shows build state listens to onDidChange.
 */
export class Builds implements vscode.Disposable {
  private readonly running = new Map<string, Running>();
  private readonly changed = new vscode.EventEmitter<Pair | undefined>();
  readonly onDidChange = this.changed.event;
  private engine: { host: string | undefined; engine: Promise<Engine> } | undefined;

  constructor(
    private readonly state: vscode.Memento,
    private readonly output: BuildOutput,
  ) {}

  /** The engine for the current host setting; a failed connection is retried on the next call. */
  connect(): Promise<Engine> {
    const host = readSettings().host;
    if (!this.engine || this.engine.host !== host) {
      const engine = connectEngine({ host, hostSource: 'setting', surface: 'vscode' });
      this.engine = { host, engine };
      engine.catch(() => {
        if (this.engine?.engine === engine) this.engine = undefined;
      });
    }
    return this.engine.engine;
  }

  resetConnection(): void {
    this.engine = undefined;
  }

  isRunning(pair: Pair): boolean {
    return this.running.has(pair.dir);
  }

  phaseOf(pair: Pair): Phase | 'connect' | undefined {
    return this.running.get(pair.dir)?.phase;
  }

  runningPairs(): Pair[] {
    return [...this.running.values()].map((r) => r.pair);
  }

  last(pair: Pair): LastBuild | undefined {
    return this.state.get<Record<string, LastBuild>>(LAST_BUILDS_KEY, {})[pair.dir];
  }

  /** This pair's builder and runtime sizes across its successful builds, oldest first. */
  history(pair: Pair): SizeRecord[] {
    return this.state.get<Record<string, SizeRecord[]>>(HISTORY_KEY, {})[pair.dir] ?? [];
  }

  /** Builds the pair, or reveals the build already running for it. Resolves to the build's record. */
  build(pair: Pair, options: { force?: boolean } = {}): Promise<LastBuild | undefined> {
    const existing = this.running.get(pair.dir);
    if (existing) {
      this.output.show();
      void vscode.window.showInformationMessage(`Dockerception: ${pair.name} is already building (${existing.phase.replace('-', ' ')}).`);
      return existing.done;
    }
    const abort = new AbortController();
    const running: Running = { pair, force: options.force ?? false, phase: 'connect', abort, done: Promise.resolve(undefined) };
    this.running.set(pair.dir, running);
    running.done = this.run(running).finally(() => {
      this.running.delete(pair.dir);
      this.changed.fire(pair);
    });
    this.changed.fire(pair);
    return running.done;
  }

  /**
   * Cancels every running build and waits (at most `timeoutMs`) until each has removed its builder
   * container: a window that reloads or closes leaves nothing behind.
   */
  async stopAll(timeoutMs: number): Promise<void> {
    const done = [...this.running.values()].map((r) => r.done.catch(() => undefined));
    this.cancel();
    await Promise.race([Promise.all(done), new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  }

  cancel(pair?: Pair): boolean {
    const targets = pair ? [this.running.get(pair.dir)].filter((r): r is Running => !!r) : [...this.running.values()];
    for (const target of targets) target.abort.abort();
    return targets.length > 0;
  }

  private async run(running: Running): Promise<LastBuild> {
    const { pair, abort } = running;
    const settings = readSettings(vscode.Uri.file(pair.dir));
    const tag = runtimeTagFor(pair, settings);
    this.output.started(pair, tag);
    if (settings.revealOutput === 'always') this.output.show();
    const started = Date.now();

    const record = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Dockerception: building ${pair.name}`, cancellable: true },
      async (progress, token): Promise<LastBuild> => {
        token.onCancellationRequested(() => abort.abort());
        try {
          const engine = await this.connect();
          const result = await buildPair(engine, pair, {
            tag,
            buildArgs: settings.buildArgs,
            noCache: settings.noCache,
            force: running.force,
            builder: settings.builder,
            builderNetwork: settings.builderNetwork,
            strict: settings.doctorStrict,
            maxGrowth: settings.maxGrowth,
            builderTimeoutMs: settings.builderTimeoutSeconds > 0 ? settings.builderTimeoutSeconds * 1000 : undefined,
            signal: abort.signal,
            onEvent: (event) => {
              this.output.event(pair, event);
              if (event.type === 'phase') {
                running.phase = event.phase;
                progress.report({ message: event.message });
                this.changed.fire(pair);
              } else if (event.type === 'step') {
                progress.report({ message: `${event.role} step ${event.step.index}/${event.step.total}: ${event.step.instruction}` });
              }
            },
          });
          if (!settings.keepBuilderImage) {
            await engine.docker
              .getImage(builderTagFor(tag))
              .remove()
              .catch(() => undefined);
          }
          this.output.succeeded(result);
          return {
            at: started,
            ms: Date.now() - started,
            ok: true,
            builder: result.builder,
            runtime: result.runtime,
            dockerfileSource: result.context.dockerfileSource,
            doctor: result.doctor,
          };
        } catch (error) {
          const known =
            error instanceof DockerceptionError
              ? error
              : new DockerceptionError(
                  'RUNTIME_BUILD_FAILED',
                  `Unexpected failure: ${messageOf(error)}`,
                  running.phase === 'connect' ? 'connect' : running.phase,
                );
          if (known.code === 'ENGINE_UNREACHABLE') this.resetConnection();
          this.output.failed(running.pair, known);
          return { at: started, ms: Date.now() - started, ok: false, error: { code: known.code, message: known.message } };
        }
      },
    );

    const all = { ...this.state.get<Record<string, LastBuild>>(LAST_BUILDS_KEY, {}), [pair.dir]: record };
    await this.state.update(LAST_BUILDS_KEY, all);
    if (record.ok && record.builder && record.runtime) {
      const history = [...this.history(pair), { at: record.at, builder: record.builder.size, runtime: record.runtime.size }].slice(-HISTORY_CAP);
      await this.state.update(HISTORY_KEY, { ...this.state.get<Record<string, SizeRecord[]>>(HISTORY_KEY, {}), [pair.dir]: history });
      this.announce(pair, record, settings.maxRuntimeSize);
    }
    if (!record.ok && record.error?.code !== 'CANCELLED') {
      if (settings.revealOutput !== 'never') this.output.show();
      void vscode.window
        .showErrorMessage(`Dockerception: ${pair.name} failed (${record.error?.code}). ${firstLine(record.error?.message)}`, 'Show Output')
        .then((choice) => {
          if (choice) this.output.show();
        });
    } else if (record.error?.code === 'CANCELLED') {
      void vscode.window.showInformationMessage(`Dockerception: the build of ${pair.name} was cancelled; nothing was tagged.`);
    }
    return record;
  }

  /** After a success: the sizes, a Show Report action, and a warning when over the size budget. */
  private announce(pair: Pair, record: LastBuild, budget: number | undefined): void {
    if (!record.builder || !record.runtime) return;
    const sizes = sizeSummary(record.builder.size, record.runtime.size);
    const show = (choice: string | undefined) => {
      if (choice === 'Show Report') void vscode.commands.executeCommand('dockerception.showReport', pair);
    };
    const findings = record.doctor ?? [];
    if (findings.length > 0) {
      // The image built, and would not run: that outranks its size.
      const more = findings.length > 1 ? ` (and ${findings.length - 1} more)` : '';
      void vscode.window
        .showWarningMessage(
          `Dockerception: ${record.runtime.tag} built, but the doctor found a problem${more}: ${findings[0].message}`,
          'Show Report',
          'Show Output',
        )
        .then((choice) => (choice === 'Show Output' ? this.output.show() : show(choice)));
    } else if (budget !== undefined && record.runtime.size > budget) {
      void vscode.window
        .showWarningMessage(
          `Dockerception: ${pair.name}'s runtime image is ${formatBytes(record.runtime.size)}, over the dockerception.maxRuntimeSize budget of ${formatBytes(budget)}.`,
          'Show Report',
        )
        .then(show);
    } else {
      void vscode.window.showInformationMessage(`Dockerception: built ${record.runtime.tag}: ${sizes}`, 'Show Report').then(show);
    }
  }

  dispose(): void {
    this.cancel();
    this.changed.dispose();
  }
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0];
}
