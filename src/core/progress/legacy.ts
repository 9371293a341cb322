// The legacy builder's progress: `{stream}` text with "Step i/n : INSTRUCTION" lines, `{aux:{ID}}` with
// the image id, `{errorDetail}` on failure (after HTTP 200).
import { LineSplitter } from '../demux';
import { keepLast, type BuildEvent, type BuildProgress, type BuildStep, type ProgressSink } from './types';

const STEP = /^Step (\d+)\/(\d+) : (.*)$/;
/** The legacy builder's bookkeeping lines: not worth showing as a build's last output. */
const NOISE = /^ ---> |^Removing intermediate container |^Successfully (built|tagged) /;
const RUNNING_IN = /^ ---> Running in ([0-9a-f]+)$/;

export class LegacyProgress implements BuildProgress {
  imageId: string | undefined;
  error: string | undefined;
  step: BuildStep | undefined;
  readonly recentLines: string[] = [];
  /** The intermediate container of the RUN step under way, to remove if the build is cut off. */
  runningIn: string | undefined;
  private readonly lines = new LineSplitter((line) => this.line(line));

  constructor(private readonly sink: ProgressSink) {}

  event(event: BuildEvent): void {
    if (typeof event.aux === 'object' && event.aux?.ID) this.imageId = event.aux.ID;
    if (event.errorDetail || event.error) this.error = (event.errorDetail?.message ?? event.error ?? '').trim();
    if (typeof event.stream === 'string') this.lines.write(event.stream);
  }

  end(): void {
    this.lines.end();
  }

  private line(raw: string): void {
    const line = raw.trimEnd();
    if (!line) return;
    const running = RUNNING_IN.exec(line);
    if (running) this.runningIn = running[1];
    const match = STEP.exec(line);
    if (match) {
      this.step = { index: Number(match[1]), total: Number(match[2]), instruction: match[3] };
      this.sink.onStep?.(this.step);
      return;
    }
    if (!NOISE.test(line)) keepLast(this.recentLines, line);
    this.sink.onLine?.(line);
  }
}
