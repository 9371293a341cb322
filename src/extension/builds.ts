import * as vscode from 'vscode';
import {
  DockerceptionError,
  buildPair,
  builderTagFor,
  closeEngine,
  connectEngine,
  formatBytes,
  messageOf,
  sizeSummary,
  tagImage,
  type Engine,
  type Finding,
  type ImageSize,
  type Pair,
  type Phase,
  type BuildOptions,
  type BuildResult,
} from '../core';
import { buildAll, defaultJobs, planBuildAll, type PairOutcome } from '../core/build-all';
import type { BuildOutput } from './output';
import { readSettings, runtimeTagFor, runtimeTagsFor, type Settings } from './settings';

/** What the tree, the status bar and the report show about a pair's last build; kept in workspace state. */
export interface LastBuild {
  at: number;
  ms: number;
  ok: boolean;
  /** Nothing had changed: the image was already up to date. */
  upToDate?: boolean;
  /** Why it failed; code SKIPPED: Build All did not build it (the message says why). */
  /** runtimeDockerfile: for a missing Dockerfile.run, one written for the builder's tar (the Quick Fix's content). */
  error?: { code: string; message: string; phase?: string; runtimeDockerfile?: string };
  builder?: ImageSize;
  runtime?: ImageSize;
  dockerfileSource?: 'builder-output' | 'pair';
  /** The doctor's findings for the runtime image (after a failure: those it reported before, e.g. under doctor.strict). */
  doctor?: Finding[];
}

/** A build of a pair ended (not when it was cancelled or skipped): what the Problems panel and the CodeLens show. */
export interface FinishedBuild {
  pair: Pair;
  record: LastBuild;
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
  /** The Build All under way: how far it got, shown by the status bar and the notification. */
  private all: { done: number; total: number; failed: number; abort: AbortController; finished: Promise<PairOutcome[] | undefined> } | undefined;
  private readonly allChanged = new vscode.EventEmitter<void>();
  readonly onDidChangeAll = this.allChanged.event;
  private readonly finished = new vscode.EventEmitter<FinishedBuild>();
  /** A build ended with a result to show (built, up to date, or failed; not cancelled or skipped). */
  readonly onDidFinish = this.finished.event;

  constructor(
    private readonly state: vscode.Memento,
    private readonly output: BuildOutput,
  ) {}

  /** The engine for the current host setting; a failed connection is retried on the next call. */
  connect(): Promise<Engine> {
    const host = readSettings().host;
    if (!this.engine || this.engine.host !== host) {
      // A dropped client's connections (over ssh://, its ssh processes) end with it.
      void this.engine?.engine.then(closeEngine, () => undefined);
      const engine = connectEngine({ host, hostSource: 'setting', surface: 'vscode' });
      this.engine = { host, engine };
      engine.catch(() => {
        if (this.engine?.engine === engine) this.engine = undefined;
      });
    }
    return this.engine.engine;
  }

  resetConnection(): void {
    const dropped = this.engine;
    this.engine = undefined;
    void dropped?.engine.then(closeEngine, () => undefined);
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
    if (this.all) done.push(this.all.finished.then(() => undefined));
    this.cancelAll();
    this.cancel();
    await Promise.race([Promise.all(done), new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  }

  cancel(pair?: Pair): boolean {
    const targets = pair ? [this.running.get(pair.dir)].filter((r): r is Running => !!r) : [...this.running.values()];
    for (const target of targets) target.abort.abort();
    return targets.length > 0;
  }

  /** buildPair's options from a pair's folder settings (everything but the tag, the signal and the events). */
  private optionsFor(settings: Settings, force: boolean): Omit<BuildOptions, 'tag' | 'signal' | 'onEvent'> {
    return {
      buildArgs: settings.buildArgs,
      noCache: settings.noCache,
      force,
      builder: settings.builder,
      builderNetwork: settings.builderNetwork,
      strict: settings.doctorStrict === 'off' ? false : settings.doctorStrict,
      maxGrowth: settings.maxGrowth,
      builderTimeoutMs: settings.builderTimeoutSeconds > 0 ? settings.builderTimeoutSeconds * 1000 : undefined,
    };
  }

  /**
   * One pair's build through the core, with everything the surfaces show: the phase on its row and the
   * status bar, its output lines, its record. Resolves with the record; `onFailure` sees the error first.
   */
  private async buildOne(
    running: Running,
    settings: Settings,
    tag: string,
    report: (message: string) => void,
    onFailure?: (error: DockerceptionError) => void,
    onSuccess?: (result: BuildResult) => void,
  ): Promise<LastBuild> {
    const { pair, abort } = running;
    const started = Date.now();
    const findings: Finding[] = [];
    let record: LastBuild;
    try {
      const engine = await this.connect();
      // dockerception.runtimeTag as a list: the image carries every tag; the build gives the first (`tag`).
      const alsoTags = runtimeTagsFor(pair, settings).filter((t) => t !== tag);
      const result = await buildPair(engine, pair, {
        ...this.optionsFor(settings, running.force),
        tag,
        signal: abort.signal,
        onEvent: (event) => {
          this.output.event(pair, event);
          if (event.type === 'phase') {
            running.phase = event.phase;
            report(event.message);
            this.changed.fire(pair);
          } else if (event.type === 'finding') {
            findings.push(event.finding);
          } else if (event.type === 'step') {
            report(`${event.role} step ${event.step.index}/${event.step.total}: ${event.step.instruction}`);
          }
        },
      });
      if (!settings.keepBuilderImage) {
        await engine.docker
          .getImage(builderTagFor(tag))
          .remove()
          .catch(() => undefined);
      }
      if (alsoTags.length > 0) {
        await tagImage(engine, tag, alsoTags);
        this.output.line(`[${pair.name}] also tagged ${alsoTags.join(', ')}`);
      }
      this.output.succeeded(result);
      record = {
        at: started,
        ms: Date.now() - started,
        ok: true,
        upToDate: result.upToDate,
        builder: result.builder,
        runtime: result.runtime,
        dockerfileSource: result.context.dockerfileSource,
        doctor: result.doctor,
      };
      onSuccess?.(result);
    } catch (error) {
      const known =
        error instanceof DockerceptionError
          ? error
          : new DockerceptionError('RUNTIME_BUILD_FAILED', `Unexpected failure: ${messageOf(error)}`, running.phase === 'connect' ? 'connect' : running.phase);
      if (known.code === 'ENGINE_UNREACHABLE') this.resetConnection();
      this.output.failed(running.pair, known);
      record = {
        at: started,
        ms: Date.now() - started,
        ok: false,
        error: {
          code: known.code,
          message: known.message,
          phase: known.phase,
          ...(known.runtimeDockerfile ? { runtimeDockerfile: known.runtimeDockerfile } : {}),
        },
        ...(findings.length > 0 ? { doctor: findings } : {}),
      };
      onFailure?.(known);
    }
    await this.remember(pair, record);
    if (record.error?.code !== 'CANCELLED') this.finished.fire({ pair, record });
    return record;
  }

  /** Keeps the record (and the size history after a success) in workspace state. */
  private async remember(pair: Pair, record: LastBuild): Promise<void> {
    const all = { ...this.state.get<Record<string, LastBuild>>(LAST_BUILDS_KEY, {}), [pair.dir]: record };
    await this.state.update(LAST_BUILDS_KEY, all);
    if (record.ok && record.builder && record.runtime) {
      const history = [...this.history(pair), { at: record.at, builder: record.builder.size, runtime: record.runtime.size }].slice(-HISTORY_CAP);
      await this.state.update(HISTORY_KEY, { ...this.state.get<Record<string, SizeRecord[]>>(HISTORY_KEY, {}), [pair.dir]: history });
    }
  }

  private async run(running: Running): Promise<LastBuild> {
    const { pair, abort } = running;
    const settings = readSettings(vscode.Uri.file(pair.dir));
    const tag = runtimeTagFor(pair, settings);
    this.output.started(pair, tag);
    if (settings.revealOutput === 'always') this.output.show();

    const record = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Dockerception: building ${pair.name}`, cancellable: true },
      async (progress, token): Promise<LastBuild> => {
        token.onCancellationRequested(() => abort.abort());
        return this.buildOne(running, settings, tag, (message) => progress.report({ message }));
      },
    );

    if (record.ok) this.announce(pair, record, settings);
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

  /** How far the Build All under way is, or undefined. */
  allProgress(): { done: number; total: number; failed: number } | undefined {
    return this.all && { done: this.all.done, total: this.all.total, failed: this.all.failed };
  }

  cancelAll(): boolean {
    this.all?.abort.abort();
    return this.all !== undefined;
  }

  /**
   * Builds `pairs` in dependency order, several at once (the core's Build All), under one cancellable
   * progress notification ("3 of 12 …"); each pair's row and record update as it finishes, output lines
   * carry the pair's name. Resolves with the outcomes (undefined when refused before anything ran).
   */
  async buildAll(pairs: readonly Pair[], what: string): Promise<PairOutcome[] | undefined> {
    if (this.all) {
      void vscode.window.showInformationMessage(`Dockerception: a Build All is already running (${this.all.done} of ${this.all.total}).`);
      return this.all.finished;
    }
    const busy = pairs.filter((p) => this.running.has(p.dir));
    if (busy.length > 0) {
      void vscode.window.showWarningMessage(
        `Dockerception: ${busy.map((p) => p.name).join(', ')} ${busy.length > 1 ? 'are' : 'is'} building; Build All starts when no pair it builds is running. Wait, or cancel that build.`,
      );
      return undefined;
    }
    const settingsOf = (pair: Pair) => readSettings(vscode.Uri.file(pair.dir));
    let plan;
    try {
      plan = await planBuildAll(pairs, {
        tagOf: (pair) => runtimeTagFor(pair, settingsOf(pair)),
        buildArgsOf: (pair) => settingsOf(pair).buildArgs,
        collisionRemedy: 'Set dockerception.runtimeTag for one of their folders (the default, ${name}, gives each pair its own), or build the others only.',
      });
    } catch (error) {
      void vscode.window.showErrorMessage(`Dockerception: Build All refused. ${messageOf(error)}`);
      return undefined;
    }
    const abort = new AbortController();
    const all = { done: 0, total: plan.length, failed: 0, abort, finished: Promise.resolve<PairOutcome[] | undefined>(undefined) };
    this.all = all;
    this.output.buildingAll(true);
    this.output.line(`━━ ${new Date().toLocaleTimeString()}  Build All: ${plan.length} pair(s) of ${what}, ${defaultJobs().jobs} at once`);
    all.finished = Promise.resolve(
      vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: 'Dockerception: Build All', cancellable: true },
        async (progress, token) => {
          token.onCancellationRequested(() => abort.abort());
          const names = new Set<string>();
          const show = () =>
            progress.report({ message: `${all.done} of ${all.total}${all.failed ? ` (${all.failed} failed)` : ''} … ${[...names].join(', ')}` });
          show();
          const engine = await this.connect().catch((error: unknown) => error);
          if (engine instanceof Error) {
            const known = engine instanceof DockerceptionError ? engine : new DockerceptionError('ENGINE_UNREACHABLE', messageOf(engine), 'connect');
            void vscode.window.showErrorMessage(`Dockerception: Build All could not start. ${known.message}`);
            return undefined;
          }
          return buildAll(engine as Engine, plan, {
            jobs: defaultJobs().jobs,
            signal: abort.signal,
            build: async (_engine, pair, options) => {
              const settings = settingsOf(pair);
              const running: Running = { pair, force: false, phase: 'connect', abort: new AbortController(), done: Promise.resolve(undefined) };
              options.signal?.addEventListener('abort', () => running.abort.abort(), { once: true });
              this.running.set(pair.dir, running);
              names.add(pair.name);
              show();
              this.changed.fire(pair);
              this.output.started(pair, options.tag as string);
              let failure: DockerceptionError | undefined;
              let result: BuildResult | undefined;
              const done = this.buildOne(
                running,
                settings,
                options.tag as string,
                () => undefined,
                (error) => (failure = error),
                (r) => (result = r),
              );
              running.done = done;
              try {
                await done;
              } finally {
                this.running.delete(pair.dir);
                names.delete(pair.name);
              }
              if (failure || !result) throw failure;
              return result;
            },
            onFinish: (outcome, done) => {
              all.done = done;
              if (outcome.result === 'failed') all.failed++;
              if (outcome.result === 'skipped' && outcome.ms === 0) {
                this.output.line(`[${outcome.pair.name}] skipped: ${outcome.reason}`);
                void this.remember(outcome.pair, { at: Date.now(), ms: 0, ok: false, error: { code: 'SKIPPED', message: outcome.reason ?? 'skipped' } });
              }
              show();
              this.changed.fire(outcome.pair);
              this.allChanged.fire();
            },
          });
        },
      ),
    ).catch((error: unknown) => {
      void vscode.window.showErrorMessage(`Dockerception: Build All stopped: ${messageOf(error)}. Please report it with the output.`);
      return undefined;
    });
    this.allChanged.fire();
    const outcomes = await all.finished;
    this.all = undefined;
    this.output.buildingAll(false);
    this.allChanged.fire();
    if (outcomes) this.announceAll(outcomes, abort.signal.aborted);
    return outcomes;
  }

  private announceAll(outcomes: PairOutcome[], cancelled: boolean): void {
    const count = (r: PairOutcome['result']) => outcomes.filter((o) => o.result === r).length;
    const summary = `${count('built')} built, ${count('up to date')} up to date, ${count('failed')} failed, ${count('skipped')} skipped`;
    this.output.line(`━━ Build All: ${summary}${cancelled ? ' (cancelled)' : ''}`);
    if (cancelled) void vscode.window.showInformationMessage(`Dockerception: Build All was cancelled (${summary}); the cancelled pairs tagged nothing.`);
    else if (count('failed') > 0) {
      const failed = outcomes.filter((o) => o.result === 'failed').map((o) => o.pair.name);
      void vscode.window
        .showErrorMessage(`Dockerception: Build All: ${failed.join(', ')} failed (${summary}).`, 'Show Output')
        .then((choice) => choice && this.output.show());
    } else void vscode.window.showInformationMessage(`Dockerception: Build All: ${summary}.`);
  }

  /** After a success: the sizes, a Show Report action, and a warning when over the size budget. */
  private announce(pair: Pair, record: LastBuild, settings: Settings): void {
    if (!record.builder || !record.runtime) return;
    const budget = settings.maxRuntimeSize;
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
          `Dockerception: ${record.runtime.tag} ${record.upToDate ? 'is up to date' : 'built'}, but the doctor found a problem${more}: ${findings[0].message}`,
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
    } else if (record.upToDate) {
      // Nothing ran: say so, and not in a real build's words. dockerception.notifyUpToDate: false silences it.
      if (settings.notifyUpToDate) {
        void vscode.window
          .showInformationMessage(`Dockerception: ${record.runtime.tag} is up to date (nothing changed since its last build): ${sizes}`, 'Show Report')
          .then(show);
      }
    } else {
      void vscode.window.showInformationMessage(`Dockerception: built ${record.runtime.tag}: ${sizes}`, 'Show Report').then(show);
    }
  }

  dispose(): void {
    this.cancelAll();
    this.cancel();
    this.changed.dispose();
    this.allChanged.dispose();
    this.finished.dispose();
  }
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0];
}
