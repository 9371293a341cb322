import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { isValidReference } from '../../src/core/pipeline';
import {
  dateVariable,
  expandTag,
  expandTags,
  isShipError,
  isTemplate,
  isValidTag,
  tagSafe,
  tagTemplatesOf,
  tagVariables,
  tagVariablesSync,
  templatesNeedGit,
  type TagVariables,
} from '../../src/core/ship';

const vars: TagVariables = { name: 'services-api', folder: 'api', gitSha: 'a1b2c3d', gitBranch: 'feature/Login#2', date: '20261130' };

describe('tag templates', () => {
  it('expands every variable', () => {
    assert.equal(expandTag('registry.example:5000/team/${name}:${gitSha}', vars), 'registry.example:5000/team/services-api:a1b2c3d');
    assert.equal(expandTag('${folder}:${date}', vars), 'api:20261130');
    assert.equal(expandTag('app:${gitBranch}-${gitSha}', vars), 'app:feature-Login-2-a1b2c3d');
    assert.equal(expandTag('plain:1.0', vars), 'plain:1.0');
  });

  it('makes a branch safe for a tag: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}', () => {
    const cases: Array<[string, string]> = [
      ['main', 'main'],
      ['feature/Login#2', 'feature-Login-2'],
      ['.hidden', '_hidden'],
      ['-dash', '_dash'],
      ['ünïcode/ß', '_n-code--'],
      ['x'.repeat(300), 'x'.repeat(128)],
      ['release/1.2_rc', 'release-1.2_rc'],
    ];
    for (const [branch, expected] of cases) {
      assert.equal(tagSafe(branch), expected, branch);
      assert.ok(isValidTag(tagSafe(branch)), branch);
    }
    // Docker's grammar itself: a tag may not start with '.' or '-', and is at most 128 characters.
    assert.equal(isValidTag('.x'), false);
    assert.equal(isValidTag('-x'), false);
    assert.equal(isValidTag('a'.repeat(129)), false);
    assert.equal(isValidTag('_A.b-9'), true);
  });

  it('a variable in the repository part becomes a valid name component (lower case)', () => {
    assert.equal(expandTag('team/${gitBranch}:latest', vars), 'team/feature-login-2:latest');
  });

  it('unknown variables, missing git values and invalid results are refused, saying what to do', () => {
    assert.throws(
      () => expandTag('app:${version}', vars),
      (e: unknown) => isShipError(e) && e.code === 'BAD_TAG' && /\$\{version\}, which is not a variable: use \$\{name\}/.test(e.message),
    );
    assert.throws(
      () => expandTag('app:${gitBranch}', { ...vars, gitBranch: undefined }),
      (e: unknown) => isShipError(e) && /HEAD is detached/.test(e.message) && /Check out a branch/.test(e.message),
    );
    assert.throws(
      () => expandTag('app:${gitSha}', { ...vars, gitSha: undefined }),
      (e: unknown) => isShipError(e) && /not in a git work tree/.test(e.message),
    );
    assert.throws(() => expandTag(`app:${'x'.repeat(100)}\${gitBranch}`, { ...vars, gitBranch: 'y'.repeat(100) }), /not a valid image name/);
  });

  it('several tags per image, duplicates dropped, all valid references', () => {
    const tags = expandTags(['app:${gitSha}', 'app:${gitBranch}', 'app:latest', 'app:${gitSha}'], vars);
    assert.deepEqual(tags, ['app:a1b2c3d', 'app:feature-Login-2', 'app:latest']);
    assert.ok(tags.every(isValidReference));
    assert.equal(isTemplate('app:${date}'), true);
    assert.equal(isTemplate('app:1'), false);
  });

  it('a tag setting is a string or a list (dockerception.runtimeTag): blanks dropped, none gives ${name}', () => {
    assert.deepEqual(tagTemplatesOf('app:1'), ['app:1']);
    assert.deepEqual(tagTemplatesOf(['${name}', ' reg:5000/${name}:${gitSha} ', '', 7]), ['${name}', 'reg:5000/${name}:${gitSha}']);
    assert.deepEqual(tagTemplatesOf([]), ['${name}']);
    assert.deepEqual(tagTemplatesOf('  '), ['${name}']);
    assert.deepEqual(tagTemplatesOf(undefined), ['${name}']);
    assert.equal(templatesNeedGit(['${name}', 'x:${date}']), false);
    assert.equal(templatesNeedGit(['x:${gitBranch}']), true);
  });

  it('${date} is the UTC day as YYYYMMDD', () => {
    assert.equal(dateVariable(new Date('2026-01-02T23:59:59Z')), '20260102');
  });
});

describe('tag variables from a real git repository', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-ship-git-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const git = (...args: string[]): string => {
    const result = spawnSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' },
    });
    assert.equal(result.status, 0, result.stderr);
    return result.stdout.trim();
  };

  it('outside a commit: no gitSha or gitBranch, and templates naming them fail', async () => {
    const plain = mkdtempSync(path.join(os.tmpdir(), 'dc-ship-nogit-'));
    try {
      const v = await tagVariables(plain, 'x');
      assert.equal(v.gitSha, undefined);
      assert.equal(v.gitBranch, undefined);
      assert.throws(() => expandTag('x:${gitSha}', v), /not in a git work tree/);
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it('gitSha is git rev-parse --short HEAD; gitBranch the checked-out branch made safe; detached HEAD has none', async () => {
    git('init', '-q', '-b', 'main');
    const pair = path.join(dir, 'My Service');
    mkdirSync(pair);
    writeFileSync(path.join(pair, 'Dockerfile'), 'FROM scratch\n');
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    git('checkout', '-q', '-b', 'feature/Login#2');

    const v = await tagVariables(pair, 'my-service', new Date('2026-11-30T12:00:00Z'));
    const short = git('rev-parse', '--short', 'HEAD');
    assert.equal(v.gitSha, short);
    assert.equal(v.gitBranch, git('branch', '--show-current'));
    assert.equal(v.folder, 'my-service');
    assert.deepEqual(expandTags(['reg.example:5000/${name}:${gitSha}', 'reg.example:5000/${name}:${gitBranch}', '${folder}:${date}'], v), [
      `reg.example:5000/my-service:${short}`,
      'reg.example:5000/my-service:feature-Login-2',
      'my-service:20261130',
    ]);

    // The synchronous variant VS Code uses runs the same git commands and gives the same values.
    const templates = ['${name}', 'reg.example:5000/${name}:${gitSha}', 'reg.example:5000/${folder}:${gitBranch}-${date}'];
    const now = new Date('2026-11-30T12:00:00Z');
    assert.deepEqual(tagVariablesSync(pair, 'my-service', templates, now), v);
    assert.deepEqual(expandTags(templates, tagVariablesSync(pair, 'my-service', templates, now)), [
      'my-service',
      `reg.example:5000/my-service:${short}`,
      'reg.example:5000/my-service:feature-Login-2-20261130',
    ]);
    // No template names git: git is not asked.
    assert.deepEqual(tagVariablesSync(pair, 'my-service', ['${name}:${date}'], now), { ...v, gitSha: undefined, gitBranch: undefined });

    git('checkout', '-q', '--detach');
    const detached = await tagVariables(pair, 'my-service');
    assert.equal(detached.gitSha, short);
    assert.equal(detached.gitBranch, undefined);
    assert.deepEqual(tagVariablesSync(pair, 'my-service', templates), { ...detached, date: dateVariable() });
    assert.throws(() => expandTags(templates, tagVariablesSync(pair, 'my-service', templates)), /HEAD is detached/);
  });
});
