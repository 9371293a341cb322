// BuildKit's progress: trace messages (decoded StatusResponses) describe vertices — Dockerfile steps named
// `[stage i/n] INSTRUCTION`, and internal ones — and carry each vertex's output; `moby.image.id` gives the
// image; a vertex `error` and a final `errorDetail` say what failed.
import { LineSplitter } from '../demux';
import { decodeStatus, type Vertex } from './buildkit-status';
import { keepLast, type BuildEvent, type BuildProgress, type BuildStep, type ProgressSink } from './types';

const STEP = /^\[(?:(.+) )?(\d+)\/(\d+)\] (.*)$/s;

interface VertexState {
  step?: BuildStep;
  announced: boolean;
  cachedShown: boolean;
  lines: LineSplitter;
  recent: string[];
}

export class BuildKitProgress implements BuildProgress {
  imageId: string | undefined;
  error: string | undefined;
  step: BuildStep | undefined;
  private failedVertex: VertexState | undefined;
  private lastVertex: VertexState | undefined;
  private readonly vertices = new Map<string, VertexState>();
  private readonly streamLines = new LineSplitter((line) => line.trim() && this.sink.onLine?.(line.trimEnd()));

  constructor(private readonly sink: ProgressSink) {}

  get recentLines(): string[] {
    return (this.failedVertex ?? this.lastVertex)?.recent ?? [];
  }

  event(event: BuildEvent): void {
    if (event.id === 'moby.buildkit.trace' && typeof event.aux === 'string') {
      const status = decodeStatus(event.aux);
      for (const vertex of status.vertexes) this.onVertex(vertex);
      for (const log of status.logs) this.stateOf(log.vertex).lines.write(Buffer.from(log.msg));
    } else if (typeof event.aux === 'object' && event.aux?.ID) {
      this.imageId = event.aux.ID;
    } else if (typeof event.stream === 'string') {
      this.streamLines.write(event.stream);
    }
    if (event.errorDetail || event.error) this.error ??= (event.errorDetail?.message ?? event.error ?? '').trim();
  }

  end(): void {
    for (const state of this.vertices.values()) state.lines.end();
    this.streamLines.end();
  }

  private stateOf(digest: string): VertexState {
    let state = this.vertices.get(digest);
    if (!state) {
      const created: VertexState = {
        announced: false,
        cachedShown: false,
        recent: [],
        lines: new LineSplitter((line) => {
          if (!line.trim()) return;
          keepLast(created.recent, line.trimEnd());
          this.sink.onLine?.(line.trimEnd());
        }),
      };
      state = created;
      this.vertices.set(digest, state);
    }
    return state;
  }

  private onVertex(vertex: Vertex): void {
    const state = this.stateOf(vertex.digest);
    if (!state.step) {
      const match = STEP.exec(vertex.name);
      if (match) state.step = { index: Number(match[2]), total: Number(match[3]), instruction: match[4], ...(match[1] ? { stage: match[1] } : {}) };
    }
    if (vertex.started && !state.announced) {
      state.announced = true;
      if (state.step) {
        this.step = state.step;
        this.lastVertex = state;
        this.sink.onStep?.(state.step);
      }
    }
    if (vertex.cached && state.step && !state.cachedShown) {
      state.cachedShown = true;
      this.sink.onLine?.('CACHED');
    }
    if (vertex.error && !this.failedVertex) {
      this.failedVertex = state;
      if (state.step) this.step = state.step;
      this.error = vertex.error.trim();
    }
  }
}
