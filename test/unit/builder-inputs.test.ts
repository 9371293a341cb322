// The digest of everything the builder build reads (pure: a folder on disk and a stand-in engine that only
// answers image inspects). What it is held to against the real engine lives in skip-oracle.test.ts.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { builderFacts, builderInputsDigest, ContextDigest, contextDigest, decidedAtBuildTime, type BuilderFacts } from '../../src/core/builder-inputs';
import { packContext } from '../../src/core/context';

const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function pair(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dc-inputs-'));
  roots.push(dir);
  const all: Record<string, string> = {
    Dockerfile: 'FROM base\nCOPY . /src\n',
    '.dockerignore': 'notes.txt\nbuild\n',
    'src/main.c': 'int main(){return 0;}\n',
    'notes.txt': 'draft\n',
    ...files,
  };
  for (const [name, content] of Object.entries(all)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  symlinkSync('main.c', path.join(dir, 'src', 'link'));
  return dir;
}

describe('the context digest', () => {
  it('is the same for the same files made at another time, and for a changed mtime', async () => {
    const a = pair();
    const b = pair();
    utimesSync(path.join(b, 'src', 'main.c'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    assert.equal(await contextDigest(a), await contextDigest(b));
  });

  it('changes with a byte, a mode, an added file, an added empty folder, a symlink target, the Dockerfile and .dockerignore', async () => {
    const dir = pair();
    const seen = new Map<string, string>([['start', await contextDigest(dir)]]);
    const changes: Array<[string, () => void]> = [
      ['a source byte', () => writeFileSync(path.join(dir, 'src', 'main.c'), 'int main(){return 1;}\n')],
      ['chmod +x', () => chmodSync(path.join(dir, 'src', 'main.c'), 0o755)],
      ['a file added', () => writeFileSync(path.join(dir, 'src', 'extra.h'), '')],
      ['an empty folder added', () => mkdirSync(path.join(dir, 'empty'))],
      [
        'a symlink target',
        () => {
          unlinkSync(path.join(dir, 'src', 'link'));
          symlinkSync('extra.h', path.join(dir, 'src', 'link'));
        },
      ],
      ['the Dockerfile', () => writeFileSync(path.join(dir, 'Dockerfile'), 'FROM base\nCOPY . /src\nRUN true\n')],
      ['.dockerignore (a file it now leaves out)', () => writeFileSync(path.join(dir, '.dockerignore'), 'notes.txt\nbuild\nsrc/extra.h\n')],
      ['a file renamed', () => writeFileSync(path.join(dir, 'src', 'main2.c'), 'int main(){return 1;}\n') ?? rmSync(path.join(dir, 'src', 'main.c'))],
    ];
    for (const [name, change] of changes) {
      change();
      const digest = await contextDigest(dir);
      const same = [...seen].find(([, d]) => d === digest);
      assert.equal(same, undefined, `${name}: the digest equals the one after "${same?.[0]}"`);
      seen.set(name, digest);
    }
  });

  it('does not change with a file or folder .dockerignore leaves out', async () => {
    const dir = pair({ 'build/out.o': 'obj' });
    const before = await contextDigest(dir);
    writeFileSync(path.join(dir, 'notes.txt'), 'draft 2\n');
    writeFileSync(path.join(dir, 'build', 'out.o'), 'obj 2');
    writeFileSync(path.join(dir, 'build', 'new.o'), 'new');
    assert.equal(await contextDigest(dir), before);
  });

  it('equals the digest packContext sees while it sends the same folder', async () => {
    const dir = pair({ 'big.bin': 'x'.repeat(300_000) });
    const sent = new ContextDigest();
    let bytes = 0;
    for await (const chunk of packContext(dir, undefined, sent)) bytes += (chunk as Buffer).length;
    assert.ok(bytes > 300_000, 'the tar was sent whole');
    assert.equal(sent.digest(), await contextDigest(dir));
  });

  it('has no digest until every entry was seen', () => {
    const digest = new ContextDigest();
    digest.entry({ name: 'a', absPath: '/nonexistent/a', type: 'file', size: 1, mode: 0o644, mtime: new Date() });
    assert.equal(digest.digest(), undefined);
    digest.data(Buffer.from('a'));
    digest.end();
    assert.match(digest.digest() ?? '', /^[0-9a-f]{64}$/);
  });
});

describe('a builder Dockerfile whose result the engine decides at build time', () => {
  it('is an ADD of a URL, a git source, or a source made from a variable, in either form', () => {
    const cases: Array<[string, RegExp | undefined]> = [
      ['FROM b\nADD https://example.com/x.tgz /x\n', /line 2 ADDs https:\/\/example\.com\/x\.tgz/],
      ['FROM b\nADD --chown=1 http://h/a /a\n', /http:\/\/h\/a/],
      ['FROM b\nADD ["https://h/a b", "/x"]\n', /https:\/\/h\/a b/],
      ['FROM b\nADD git@github.com:o/r.git /r\n', /git@github/],
      ['FROM b\nADD github.com/o/r /r\n', /github\.com/],
      ['FROM b\nADD ./a ${SRC} /x/\n', /variable/],
      ['FROM b\nADD local.tar /x\nCOPY . /y\n', undefined],
      ['FROM b\nCOPY https-notes.txt /x\nADD --chmod=755 run.sh $HOME/\n', undefined],
    ];
    for (const [text, expected] of cases) {
      const said = decidedAtBuildTime(text);
      if (expected) assert.match(said ?? '(nothing)', expected, text);
      else assert.equal(said, undefined, text);
    }
  });
});

/** A stand-in engine: image inspects from a table, 404 for the rest. */
function engine(images: Record<string, { Id: string; OnBuild?: string[] }>): Docker {
  return {
    getImage: (ref: string) => ({
      inspect: () =>
        images[ref]
          ? Promise.resolve({ Id: images[ref].Id, Config: { OnBuild: images[ref].OnBuild ?? null } })
          : Promise.reject(Object.assign(new Error('no such image'), { statusCode: 404 })),
    }),
  } as unknown as Docker;
}

describe('the facts besides the context', () => {
  const given = { engineId: 'e1', builder: 'legacy' as const, buildArgs: { V: '2' }, network: 'none' };
  const text = '# syntax=frontend:1\nARG V=1\nFROM base:${V} AS b\nCOPY --from=tools /t /t\nFROM b\nRUN --mount=from=data,target=/d true\n';
  const docker = engine({
    'base:2': { Id: 'sha256:b2' },
    'base:1': { Id: 'sha256:b1' },
    tools: { Id: 'sha256:t' },
    data: { Id: 'sha256:d' },
    'frontend:1': { Id: 'sha256:f' },
  });

  it('are every image the Dockerfile reads, ARGs resolved, by id; # syntax= only under BuildKit', async () => {
    assert.deepEqual(await builderFacts(docker, text, given), {
      facts: { ...given, images: { 'base:2': 'sha256:b2', tools: 'sha256:t', data: 'sha256:d' } },
    });
    const buildkit = await builderFacts(docker, text, { ...given, builder: 'buildkit', automatic: {} });
    assert.ok('facts' in buildkit);
    assert.equal(buildkit.facts.images['frontend:1'], 'sha256:f');
  });

  it('are refused when an image is missing (a build would pull it) or a base ONBUILD-ADDs a URL', async () => {
    const missing = await builderFacts(engine({}), 'FROM nowhere\n', given);
    assert.match('never' in missing ? missing.never : '', /nowhere is not on the engine/);
    const onbuild = await builderFacts(engine({ ob: { Id: 'sha256:o', OnBuild: ['ADD https://h/x /x'] } }), 'FROM ob\n', given);
    assert.match('never' in onbuild ? onbuild.never : '', /ONBUILD/);
    const url = await builderFacts(docker, 'FROM base:2\nADD http://h/x /x\n', given);
    assert.match('never' in url ? url.never : '', /fetches at build time/);
  });

  it('each change the digest, build args in any order do not', () => {
    const facts: BuilderFacts = { engineId: 'e1', builder: 'legacy', buildArgs: { A: '1', B: '2' }, network: 'none', images: { base: 'sha256:1' } };
    const start = builderInputsDigest('c1', facts);
    assert.equal(builderInputsDigest('c1', { ...facts, buildArgs: { B: '2', A: '1' } }), start);
    const variants: BuilderFacts[] = [
      { ...facts, engineId: 'e2' },
      { ...facts, builder: 'buildkit' },
      { ...facts, buildArgs: { A: '1', B: '3' } },
      { ...facts, buildArgs: { A: '1' } },
      { ...facts, network: 'default' },
      { ...facts, images: { base: 'sha256:2' } },
      { ...facts, images: { base: 'sha256:1', other: 'sha256:3' } },
    ];
    const digests = new Set([start, builderInputsDigest('c2', facts), ...variants.map((v) => builderInputsDigest('c1', v))]);
    assert.equal(digests.size, variants.length + 2);
  });
});
