// --only / --exclude: which pairs a Build All takes. The patterns are .dockerignore's (Docker's own
// matcher, @balena/dockerignore): `*` within a folder, `**` across folders, and a pattern that matches a
// folder takes every pair under it. Each is tried on the pair's folder relative to the naming root
// ('services/api') and on the pair's name ('services-api').
import * as path from 'node:path';
import ignore from '@balena/dockerignore';
import type { Pair } from '../pairs';

export function selectPairs(pairs: readonly Pair[], root: string, only: readonly string[], exclude: readonly string[]): Pair[] {
  const matcher = (patterns: readonly string[]) => {
    const m = ignore().add([...patterns]);
    return (pair: Pair) => {
      const rel = path.relative(root, pair.dir).split(path.sep).join('/');
      return (rel !== '' && !rel.startsWith('..') && m.ignores(rel)) || m.ignores(pair.name);
    };
  };
  const inOnly = matcher(only);
  const inExclude = matcher(exclude);
  return pairs.filter((pair) => (only.length === 0 || inOnly(pair)) && !(exclude.length > 0 && inExclude(pair)));
}
