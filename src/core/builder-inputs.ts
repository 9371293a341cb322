// Everything the builder build reads, as one digest, so that "up to date" can be decided before any builder
// build: the context exactly as packContext sends it (the same walk, the same .dockerignore), the build args,
// the engine's builder, the engine, the builder's network, and by id every image the builder Dockerfile
// reads. What a file contributes is what the engine's build cache looks at in the tar (path, type, mode,
// size, link target, content; uid/gid are always 0 and mtimes are left out, as both builders' cache keys
// leave them out), so the digest is the same exactly when a builder build would be a cache hit.
// A Dockerfile whose result the engine decides at build time (ADD of a URL or a git source, an ONBUILD of a
// base that does) has no digest: such a pair always takes the normal path.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type Docker from 'dockerode';
import { DockerfileParser } from 'dockerfile-ast';
import type { EngineBuilder } from './builder-choice';
import { walkContext, type ContextEntry, type ContextObserver } from './context';
import { imageReferences } from './dockerfile-refs';
import { BUILDER_DOCKERFILE } from './pairs';

/** Bump when what goes into the digest changes: older records then take the normal path once. */
const FORMAT = 'dockerception builder inputs 1';

/** The digest of a context, fed entry by entry (by packContext while it sends, or by contextDigest). */
export class ContextDigest implements ContextObserver {
  private readonly hash: Hash = createHash('sha256');
  private finished = false;

  entry(entry: ContextEntry): void {
    const { type, name, mode, size } = entry;
    // One JSON line per entry, then exactly `size` content bytes for a file: unambiguous.
    this.hash.update(`${JSON.stringify([type, name, mode.toString(8), type === 'file' ? size : 0, entry.linkname ?? ''])}\n`);
  }

  data(chunk: Buffer): void {
    this.hash.update(chunk);
  }

  end(): void {
    this.finished = true;
  }

  /** The digest once every entry was seen, else undefined (a pack that failed or was cut short). */
  digest(): string | undefined {
    return this.finished ? this.hash.copy().digest('hex') : undefined;
  }
}

/** The digest of DIR's context as packContext would send it now. */
export async function contextDigest(dir: string, dockerfile = BUILDER_DOCKERFILE): Promise<string> {
  const digest = new ContextDigest();
  for await (const entry of walkContext(dir, dockerfile)) {
    digest.entry(entry);
    if (entry.type !== 'file') continue;
    let seen = 0;
    for await (const chunk of createReadStream(entry.absPath)) {
      seen += (chunk as Buffer).length;
      digest.data(chunk as Buffer);
    }
    // A file that changed size while read would not match its header: the tar would not either.
    if (seen !== entry.size) throw new Error(`${entry.absPath} changed while it was read`);
  }
  digest.end();
  return digest.digest() as string;
}

const REMOTE = /^[a-z][a-z0-9+.-]*:\/\/|^git@|^github\.com\/|\.git(#.*)?$/i;

/**
 * Why the builder Dockerfile's result is decided by the engine at build time (its cache key is not made
 * from the context), or undefined: an ADD whose source is a URL or a git repository, or is made from a
 * variable (it may expand to one).
 */
export function decidedAtBuildTime(text: string): string | undefined {
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction.getKeyword() !== 'ADD') continue;
    const line = instruction.getRange().start.line + 1;
    const raw = instruction.getRawArgumentsContent() ?? '';
    const args = raw.trim().startsWith('[')
      ? (() => {
          try {
            return (JSON.parse(raw) as unknown[]).map(String);
          } catch {
            return [raw];
          }
        })()
      : instruction
          .getArguments()
          .map((a) => a.getValue())
          .filter((a) => !a.startsWith('--'));
    const sources = args.length > 1 ? args.slice(0, -1) : args;
    const remote = sources.find((s) => REMOTE.test(s));
    if (remote) return `line ${line} ADDs ${remote}, which the engine fetches at build time`;
    const variable = sources.find((s) => s.includes('$'));
    if (variable) return `line ${line} ADDs ${variable}, a source made from a variable (it may name a URL)`;
  }
  return undefined;
}

/** What the builder build reads besides its context. */
export interface BuilderFacts {
  engineId: string;
  builder: EngineBuilder;
  buildArgs: Record<string, string>;
  network: string;
  /** Every image the builder Dockerfile reads, by reference as resolved → image id. */
  images: Record<string, string>;
}

/** The facts, or why the builder build must run whatever the record says. */
export type BuilderFactsOrNot = { facts: BuilderFacts } | { never: string };

/**
 * The builder Dockerfile's images by id (FROM, COPY --from, RUN --mount=from, and `# syntax=` under
 * BuildKit, ARGs resolved as the engine does) and the rest of the facts; `never` when the engine decides
 * the result at build time or a build would pull an image.
 */
export async function builderFacts(
  docker: Docker,
  dockerfileText: string,
  given: Omit<BuilderFacts, 'images'> & { automatic?: Record<string, string> },
): Promise<BuilderFactsOrNot> {
  const decided = decidedAtBuildTime(dockerfileText);
  if (decided) return { never: decided };
  const refs = [
    ...new Set(
      imageReferences(dockerfileText, given.buildArgs, given.builder === 'buildkit' ? given.automatic : {})
        .filter((ref) => given.builder === 'buildkit' || ref.kind !== 'syntax')
        .map((ref) => ref.ref),
    ),
  ];
  const inspected = await Promise.all(
    refs.map((ref) =>
      docker
        .getImage(ref)
        .inspect()
        .then(
          (image) => ({ ref, id: image.Id, onBuild: (image.Config?.OnBuild ?? []) as string[] }),
          (error: { statusCode?: number }) => {
            if (error?.statusCode === 404 || error?.statusCode === 400) return { ref, id: '', onBuild: [] as string[] };
            throw error;
          },
        ),
    ),
  );
  const images: Record<string, string> = {};
  for (const { ref, id, onBuild } of inspected) {
    if (!id) return { never: `the builder's image ${ref} is not on the engine (a build would pull it)` };
    const trigger = onBuild.map((t) => decidedAtBuildTime(t)).find(Boolean);
    if (trigger) return { never: `${ref} has an ONBUILD trigger that ADDs something the engine fetches at build time` };
    images[ref] = id;
  }
  const { automatic: _, ...rest } = given;
  return { facts: { ...rest, images } };
}

/** The digest of everything the builder build reads: the context's digest and the facts. */
export function builderInputsDigest(context: string, facts: BuilderFacts): string {
  const sorted = (record: Record<string, string>) =>
    Object.keys(record)
      .sort()
      .map((key) => [key, record[key]]);
  return createHash('sha256')
    .update(JSON.stringify([FORMAT, context, facts.engineId, facts.builder, facts.network, sorted(facts.buildArgs), sorted(facts.images)]))
    .digest('hex');
}
