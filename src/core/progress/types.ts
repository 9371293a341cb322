/** One step of a Dockerfile as a build reports it: `[stage index/total] instruction`. */
export interface BuildStep {
  index: number;
  total: number;
  instruction: string;
  /** The stage's name in a multi-stage build (BuildKit names them). */
  stage?: string;
}

/** One JSON line of the engine's /build response, legacy or BuildKit. */
export interface BuildEvent {
  stream?: string;
  id?: string;
  aux?: string | { ID?: string };
  error?: string;
  errorDetail?: { message?: string };
}

/** Turns a build's JSON events into steps, output lines, the image id and the failure, for either builder. */
export interface BuildProgress {
  event(event: BuildEvent): void;
  /** The response ended. */
  end(): void;
  readonly imageId: string | undefined;
  readonly error: string | undefined;
  /** The step that failed, or the last one under way. */
  readonly step: BuildStep | undefined;
  /** The last output lines worth showing with a failure (of the failing step, where known). */
  readonly recentLines: string[];
}

export interface ProgressSink {
  onStep?: (step: BuildStep) => void;
  onLine?: (line: string) => void;
}

export const KEPT_LINES = 12;

/** `[builder 2/3] RUN go build`, `[runtime build 2/4] COPY …` for a named stage. */
export function describeStep(role: string, step: BuildStep): string {
  return `[${role}${step.stage ? ` ${step.stage}` : ''} ${step.index}/${step.total}] ${step.instruction}`;
}

export function keepLast(lines: string[], line: string): void {
  lines.push(line);
  if (lines.length > KEPT_LINES) lines.shift();
}
