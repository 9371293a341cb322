// The shapes a build is asked for and answers with, shared by the pipeline and its steps (no imports of
// either, so the steps do not import the pipeline that calls them).
import type { BuilderChoice, BuilderSetting } from './builder-choice';
import type { Finding } from './doctor/checks';
import type { Phase } from './errors';
import type { Growth } from './history';
import type { BuildStep } from './image-build';
import type { Pair } from './pairs';
import type { RegistryCredentials } from './registry-auth';
import type { ImageSize } from './sizes';
import type { TarSummary } from './tar-gate';

/** Which doctor findings refuse an image: none (false/undefined), errors (true, 'errors'), or all ('warnings'). */
export type Strictness = boolean | 'errors' | 'warnings';

export type ProgressEvent =
  | { type: 'phase'; phase: Phase; message: string }
  | { type: 'step'; role: 'builder' | 'runtime'; step: BuildStep }
  | { type: 'log'; source: 'builder-build' | 'builder-stderr' | 'runtime-build'; line: string }
  | { type: 'finding'; finding: Finding };

export interface BuildOptions {
  /** Runtime image reference; the builder is tagged NAME-builder. Default: the pair's name. */
  tag?: string;
  /** Registry credentials for both builds' pulls. Default: read as the docker CLI reads them (config.json
   * auths, credential helpers) at the start of each build. */
  credentials?: RegistryCredentials;
  buildArgs?: Record<string, string>;
  noCache?: boolean;
  /** The engine's builder for both images: 'auto' (default) follows the engine and the Dockerfiles. */
  builder?: BuilderSetting;
  /** Run everything even when nothing changed since the tagged runtime image was built. */
  force?: boolean;
  /** Where the inputs of each build are recorded (default: recordsDir()). */
  recordsDir?: string;
  /**
   * The builder container's network (Docker's NetworkMode): 'none' (the default) gives its CMD, which only
   * writes a tar, no network at all; 'default', 'bridge', 'host' or a network's name give it one.
   */
  builderNetwork?: string;
  /** Bounds the builder container's run, in milliseconds (0 or undefined: no bound). */
  builderTimeoutMs?: number;
  /** Fail with SIZE_BUDGET, tagging nothing, when the runtime image is larger (bytes). */
  maxRuntimeSize?: number;
  /** Fail with SIZE_GROWTH, tagging nothing, when the runtime image grew more than this since the pair's last build (bytes). */
  maxGrowth?: number;
  /**
   * Fail with DOCTOR, tagging nothing, on the doctor's findings: 'errors' (or true) on those that stop
   * `docker run`, 'warnings' on warnings too. Default: findings are reported and the image is tagged.
   */
  strict?: Strictness;
  signal?: AbortSignal;
  onEvent?: (event: ProgressEvent) => void;
}

export interface BuildResult {
  ok: true;
  pair: Pair;
  builder: ImageSize;
  runtime: ImageSize;
  context: TarSummary;
  /** Which builder built both images, and why. */
  engineBuilder: BuilderChoice;
  /** Nothing changed since the tagged runtime image was built: the builder run and the runtime build were skipped
   * (the guards still ran on that image). */
  upToDate: boolean;
  /** What the doctor found in the runtime image: each would (error) or may (warning) break `docker run`. */
  doctor: Finding[];
  /** What changed since the pair's build before this one; absent for a first build. */
  growth?: Growth;
  timings: { builderBuildMs: number; builderRunMs: number; runtimeBuildMs: number; totalMs: number };
}
