// Build All over several engines, without an engine: which engine each pair goes to (pairs tied by their
// needs together, groups spread evenly), and the scheduler keeping --jobs on each engine and building each
// pair on its own engine (a stand-in build that records which engine it was given).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { assignEngines, buildAll, outcomeTable, planBuildAll } from '../../src/core/build-all';
import { findPairs, type BuildResult, type Engine, type Pair } from '../../src/core';
import { pairsDir, removeDir } from './helpers';

const dirs: string[] = [];
after(() => dirs.forEach(removeDir));

function workspace(pairs: Parameters<typeof pairsDir>[0]): string {
  const root = pairsDir(pairs);
  dirs.push(root);
  return root;
}

const fakeEngine = (name: string) => ({ name, docker: { getImage: () => ({ inspect: () => Promise.reject(new Error('none')) }) } }) as unknown as Engine;

describe('Build All over several engines', () => {
  it('puts pairs tied by their needs on one engine, and spreads the groups evenly, largest first', async () => {
    // base ← app ← deep (one group of 3, through FROM and COPY --from), lib ← tool (2), then 3 alone.
    const root = workspace({
      base: {},
      app: { builder: 'FROM base\n' },
      deep: { runtime: 'FROM scratch\nCOPY --from=app /x /x\n' },
      lib: {},
      tool: { builder: 'FROM lib-builder\n' },
      s1: {},
      s2: {},
      s3: {},
    });
    const plan = await planBuildAll(await findPairs(root));
    const assigned = assignEngines(plan, 2);
    const on = Object.fromEntries(plan.map((p, i) => [p.pair.name, assigned[i]]));
    assert.equal(on.app, on.base);
    assert.equal(on.deep, on.base);
    assert.equal(on.tool, on.lib);
    assert.notEqual(on.lib, on.base, 'the second group goes to the other engine');
    const counts = [0, 1].map((e) => assigned.filter((a) => a === e).length);
    assert.deepEqual(counts, [4, 4], 'eight pairs, four on each');
    // One engine: everything on it. More engines than groups: each group on its own.
    assert.deepEqual(
      assignEngines(plan, 1),
      plan.map(() => 0),
    );
    assert.equal(new Set(assignEngines(plan, 8)).size, 5);
    assert.throws(() => assignEngines(plan, 0));
  });

  it('builds each pair on its engine, --jobs at once on each, and says which engine built it', async () => {
    const root = workspace({ base: {}, app: { builder: 'FROM base\n' }, a: {}, b: {}, c: {}, d: {} });
    const plan = await planBuildAll(await findPairs(root));
    const engines = [
      { name: 'one', engine: fakeEngine('one') },
      { name: 'two', engine: fakeEngine('two') },
    ];
    const builtOn = new Map<string, string>();
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    const build = async (engine: Engine, pair: Pair): Promise<BuildResult> => {
      const name = (engine as unknown as { name: string }).name;
      builtOn.set(pair.name, name);
      running.set(name, (running.get(name) ?? 0) + 1);
      peak.set(name, Math.max(peak.get(name) ?? 0, running.get(name) ?? 0));
      await new Promise((resolve) => setTimeout(resolve, 40));
      running.set(name, (running.get(name) ?? 1) - 1);
      return { upToDate: false, doctor: [], builder: { tag: 'b', id: 'b', size: 100 }, runtime: { tag: 'r', id: 'r', size: 10 } } as unknown as BuildResult;
    };
    const outcomes = await buildAll(fakeEngine('unused'), plan, { jobs: 2, engines, build });
    const assigned = assignEngines(plan, 2);
    plan.forEach((p, i) => assert.equal(builtOn.get(p.pair.name), engines[assigned[i]].name, `${p.pair.name} was built where it was assigned`));
    assert.equal(builtOn.get('app'), builtOn.get('base'));
    assert.deepEqual([...peak.values()].sort(), [2, 2], 'two at once on each engine');
    for (const o of outcomes) assert.equal(o.engine, builtOn.get(o.pair.name));
    // The table gains an 'engine' column, beside the result.
    const table = outcomeTable(outcomes);
    assert.match(table.split('\n')[0], /^pair\s+result\s+engine\s+builder/);
    assert.match(table, new RegExp(`\\bapp\\s+built\\s+${builtOn.get('app')}\\b`));
    // With one engine, no such column.
    const single = await buildAll(fakeEngine('only'), plan, { jobs: 2, build });
    assert.doesNotMatch(outcomeTable(single).split('\n')[0], /engine/);
  });
});
