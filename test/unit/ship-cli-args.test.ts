// Which 'build' invocations the shipping code takes (src/cli/ship.ts) and which stay 'build's own. Pure.
import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isShipBuild } from '../../src/cli/ship';

describe('build routing', () => {
  it('pushes, several tags, templates and --all with --tag are shipping builds; one plain --tag is not', () => {
    const cases: Array<[Record<string, unknown>, boolean]> = [
      [{}, false],
      [{ tag: ['app:1'] }, false],
      [{ tag: ['registry.example:5000/app:1'] }, false],
      [{ push: true }, true],
      [{ 'push-builder': true }, true],
      [{ tag: ['app:1', 'app:latest'] }, true],
      [{ tag: ['app:${gitSha}'] }, true],
      [{ all: true }, false],
      [{ all: true, tag: ['r/${name}:1'] }, true],
      [{ all: true, push: true }, true],
    ];
    for (const [values, expected] of cases) assert.equal(isShipBuild(values), expected, JSON.stringify(values));
  });
});
