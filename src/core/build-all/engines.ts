// Build All over several engines: which engine builds which pair. A pair that reads another pair's image
// is built where that image is (it never waits on a registry round trip or a pull): the pairs tied by
// their needs, directly or not, form one group, and each group goes to one engine. Groups are handed out
// largest first, each to the engine with the fewest pairs so far (the first listed on a tie), so that
// independent pairs spread evenly.
import type { PlannedPair } from './plan';

/** The index of the engine (0 … engines − 1) for each pair of the plan, in the plan's order. */
export function assignEngines(plan: readonly PlannedPair[], engines: number): number[] {
  if (engines < 1) throw new Error('assignEngines needs at least one engine');
  const index = new Map(plan.map((p, i) => [p.pair.dir, i]));
  const parent = plan.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  plan.forEach((p, i) => {
    for (const need of p.needs) {
      const j = index.get(need.pair.dir);
      if (j !== undefined) parent[find(i)] = find(j);
    }
  });
  const groups = new Map<number, number[]>();
  plan.forEach((_, i) => groups.set(find(i), [...(groups.get(find(i)) ?? []), i]));
  // Largest first; on equal size, the group whose first pair comes first in the plan.
  const ordered = [...groups.values()].sort((a, b) => b.length - a.length || a[0] - b[0]);
  const load = new Array<number>(engines).fill(0);
  const assigned = new Array<number>(plan.length).fill(0);
  for (const group of ordered) {
    const engine = load.indexOf(Math.min(...load));
    for (const i of group) assigned[i] = engine;
    load[engine] += group.length;
  }
  return assigned;
}
