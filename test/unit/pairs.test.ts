// Pair names in a workspace (pure: no engine, no files).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { distinctNames, pairFor } from '../../src/core/pairs';

const names = (dirs: string[]) => distinctNames(dirs.map(pairFor)).map((p) => p.name);

describe('pair names in a workspace', () => {
  it('keeps folder names that are unique', () => {
    assert.deepEqual(names(['/w/app', '/w/tools/cli']), ['app', 'cli']);
  });

  it('names pairs with the same folder name after their path from the root', () => {
    assert.deepEqual(names(['/w/svc-a/api', '/w/svc-b/api', '/w/web']), ['svc-a-api', 'svc-b-api', 'web']);
  });

  it('goes up as many folders as it takes, and leaves the others alone', () => {
    assert.deepEqual(names(['/one/svc/api', '/two/svc/api', '/one/api-x']), ['one-svc-api', 'two-svc-api', 'api-x']);
    assert.deepEqual(names(['/x/api', '/y/api']), ['x-api', 'y-api']);
  });
});
