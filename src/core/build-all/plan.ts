// Which pairs a Build All builds before which: a pair whose Dockerfile or Dockerfile.run names another
// pair's builder or runtime image (FROM, COPY --from, RUN --mount=from, build args resolved) is built after
// it. A cycle, or two pairs that would write one image, is refused before anything runs.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { imageReferences } from '../dockerfile-refs';
import { DockerceptionError, messageOf } from '../errors';
import { canonicalReference, findTagCollision, tagCollisionError, type Pair } from '../pairs';
import { builderTagFor } from '../pipeline';

/** One pair's image that another pair's Dockerfile reads. */
export interface Dependency {
  /** The pair whose image is read. */
  pair: Pair;
  /** The reference as the Dockerfile wrote it, build args resolved. */
  ref: string;
  /** Which Dockerfile of the dependant names it, and on which line (1-based). */
  file: string;
  line: number;
}

export interface PlannedPair {
  pair: Pair;
  runtimeTag: string;
  builderTag: string;
  /** The pairs that must be built first, each with the reference that ties them. */
  needs: Dependency[];
}

export interface PlanOptions {
  /** The runtime tag of each pair (default: its name). The builder is tagged NAME-builder. */
  tagOf?: (pair: Pair) => string;
  /** The build args each pair is built with (resolve ARGs in its FROM lines). */
  buildArgsOf?: (pair: Pair) => Record<string, string>;
  /** What to tell the user to do about a tag collision. */
  collisionRemedy?: string;
}

async function readDockerfile(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (error) {
    throw new DockerceptionError(
      'NO_PAIR',
      `${file} could not be read (${messageOf(error)}), so the order of the pairs is unknown; nothing was built. Restore the file, then run Build All again.`,
      'discover',
      { cause: error },
    );
  }
}

/**
 * The pairs in an order that builds every pair after the pairs it reads images from (otherwise by name),
 * each with what it needs. Throws NO_PAIR, before anything runs, on a cycle (naming its pairs) and on two
 * pairs whose tags collide (naming both).
 */
export async function planBuildAll(pairs: readonly Pair[], options: PlanOptions = {}): Promise<PlannedPair[]> {
  const tagOf = options.tagOf ?? ((pair: Pair) => pair.name);
  const planned: PlannedPair[] = pairs.map((pair) => {
    const runtimeTag = tagOf(pair);
    return { pair, runtimeTag, builderTag: builderTagFor(runtimeTag), needs: [] };
  });
  const collision = findTagCollision(planned);
  if (collision) {
    throw tagCollisionError(collision, options.collisionRemedy ?? 'Rename one of the folders, or leave one out with --exclude, and run Build All again.');
  }

  const owner = new Map<string, PlannedPair>();
  for (const p of planned) {
    owner.set(canonicalReference(p.runtimeTag), p);
    owner.set(canonicalReference(p.builderTag), p);
  }
  await Promise.all(
    planned.map(async (p) => {
      const args = options.buildArgsOf?.(p.pair) ?? {};
      for (const file of [p.pair.builderDockerfile, p.pair.runtimeDockerfile]) {
        const text = await readDockerfile(file);
        for (const ref of imageReferences(text, args)) {
          const dep = owner.get(canonicalReference(ref.ref));
          if (!dep || dep === p || p.needs.some((n) => n.pair.dir === dep.pair.dir)) continue;
          p.needs.push({ pair: dep.pair, ref: ref.ref, file: path.basename(file), line: ref.line + 1 });
        }
      }
    }),
  );
  return topologicalOrder(planned);
}

/** Kahn's order, ties by name; the pairs left over hold a cycle, which is named. */
function topologicalOrder(planned: PlannedPair[]): PlannedPair[] {
  const byDir = new Map(planned.map((p) => [p.pair.dir, p]));
  const waiting = new Map(planned.map((p) => [p.pair.dir, p.needs.length]));
  const dependants = new Map<string, PlannedPair[]>();
  for (const p of planned) for (const n of p.needs) dependants.set(n.pair.dir, [...(dependants.get(n.pair.dir) ?? []), p]);
  const byName = (a: PlannedPair, b: PlannedPair) => a.pair.name.localeCompare(b.pair.name) || a.pair.dir.localeCompare(b.pair.dir);
  const ready = planned.filter((p) => p.needs.length === 0).sort(byName);
  const order: PlannedPair[] = [];
  while (ready.length > 0) {
    const next = ready.shift() as PlannedPair;
    order.push(next);
    for (const d of dependants.get(next.pair.dir) ?? []) {
      const left = (waiting.get(d.pair.dir) ?? 0) - 1;
      waiting.set(d.pair.dir, left);
      if (left === 0) {
        ready.push(d);
        ready.sort(byName);
      }
    }
  }
  if (order.length < planned.length) {
    const cycle = findCycle(
      planned.filter((p) => (waiting.get(p.pair.dir) ?? 0) > 0),
      byDir,
    );
    const steps = cycle.map((p, i) => {
      const next = cycle[(i + 1) % cycle.length];
      const need = next.needs.find((n) => n.pair.dir === p.pair.dir);
      return `${next.pair.name} needs ${p.pair.name} (${next.pair.name}/${need?.file}:${need?.line} names ${need?.ref})`;
    });
    throw new DockerceptionError(
      'NO_PAIR',
      `The pairs ${cycle.map((p) => p.pair.name).join(', ')} need each other's images in a cycle, so none of them can be built first; nothing was built. ` +
        `${steps.join('; ')}. Break the cycle: make one of these Dockerfiles name an image that no pair in the cycle builds.`,
      'discover',
    );
  }
  return order;
}

/** One cycle among pairs that all still wait (each has a need among them), in dependency order. */
function findCycle(stuck: PlannedPair[], byDir: Map<string, PlannedPair>): PlannedPair[] {
  const inStuck = new Set(stuck.map((p) => p.pair.dir));
  // Walk needs from any stuck pair: within the stuck set every pair has a stuck need, so the walk repeats.
  const seen = new Map<string, number>();
  const walk: PlannedPair[] = [];
  let current = [...stuck].sort((a, b) => a.pair.name.localeCompare(b.pair.name))[0];
  while (!seen.has(current.pair.dir)) {
    seen.set(current.pair.dir, walk.length);
    walk.push(current);
    const need = current.needs.find((n) => inStuck.has(n.pair.dir)) as Dependency;
    current = byDir.get(need.pair.dir) as PlannedPair;
  }
  // walk[i] needs walk[i+1]; return the cycle with each pair before the one that needs it.
  return walk.slice(seen.get(current.pair.dir)).reverse();
}
