// The doctor without a second pass (issue 22) against the doctor with one: every runtime image here is
// built through the pipeline, whose doctor lists it from the base image's listing and the context the
// tar gate saw (or, where that could differ, exports it and says why), then the same image is examined
// the old way (an export of a container made from it). The two answers must be the same, field by field:
// every finding, the kept file listing, and whether it was cut. The export is the expected value; no
// answer is written here by hand. Each case also says which path it must take, so that a model that
// gave up everywhere could not pass.
import assert from 'node:assert/strict';
import { cpSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildPair, pairAt, readRecord, type BuildResult } from '../../src/core';
import { examineImage } from '../../src/core/doctor';
import { BUSYBOX, ROOT, docker, makeBuilderPair, makeDir, removeDir, removeImages, testEngine, type TestBuilder } from './helpers';
import { aarch64Header } from '../support/elf';

const records = makeDir({}, 'dc-records-');
const dirs: string[] = [];
const tags: string[] = [];

/** A pair whose builder (FROM `from`) runs `script` to fill /o, which becomes the runtime context. */
function pair(from: string, script: string, runtime: string, payload: Record<string, string | Buffer> = {}): string {
  const dir = makeBuilderPair(`set -e; mkdir -p /o; ${script}; tar -cf - -C /o .\n`, {
    builder: `FROM ${from}\nCOPY payload /payload\nCMD ["sh", "/payload/run.sh"]\n`,
    runtime,
    payload,
  });
  dirs.push(path.dirname(dir));
  return dir;
}

interface Case {
  name: string;
  dir: () => string;
  /** The doctor's path the pipeline must take, and for an export, the reason it must give. */
  expect: 'listing' | RegExp;
  builders: readonly TestBuilder[];
}

const SCRATCH_APP = 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n';
/** /bin/ls of gcc:12 (Debian) with every library ldd names, ld.so.cache, and links of both kinds. */
const GLIBC_TREE =
  'mkdir -p /o/bin /o/etc /o/links && cp /bin/ls /o/bin/ls && for l in $(ldd /bin/ls | grep -o "/[^ ]*"); do mkdir -p /o$(dirname $l); cp -L $l /o$l; done; ' +
  'cp /etc/ld.so.cache /o/etc/ld.so.cache && ln -s ../bin/ls /o/links/relative && ln -s /bin/ls /o/links/absolute && chmod 600 /o/etc/ld.so.cache';

const cases: Case[] = [
  // First: a busybox base, whose export teaches this engine's init layer to the scratch cases after it.
  {
    name: 'busybox base, a script copied into a new folder (the bench pair)',
    dir: () =>
      pair(
        BUSYBOX,
        'printf "#!/bin/sh\\necho hi\\n" > /o/app.sh && chmod 755 /o/app.sh',
        'FROM busybox:1.36\nCOPY app.sh /app/app.sh\nENTRYPOINT ["/app/app.sh"]\n',
      ),
    expect: 'listing',
    builders: ['legacy', 'buildkit'],
  },
  { name: 'a static binary on scratch', dir: () => pair(BUSYBOX, 'cp /bin/busybox /o/app', SCRATCH_APP), expect: 'listing', builders: ['legacy', 'buildkit'] },
  {
    name: 'an ENTRYPOINT that is not in the image',
    dir: () => pair(BUSYBOX, 'cp /bin/busybox /o/app', 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/server"]\n'),
    expect: 'listing',
    builders: ['legacy'],
  },
  {
    name: 'an ENTRYPOINT that is not executable',
    dir: () => pair(BUSYBOX, 'cp /bin/busybox /o/app && chmod 644 /o/app', SCRATCH_APP),
    expect: 'listing',
    builders: ['legacy'],
  },
  {
    name: 'a script whose interpreter is missing',
    dir: () => pair(BUSYBOX, 'printf "#!/bin/bash\\necho hi\\n" > /o/app && chmod 755 /o/app', SCRATCH_APP),
    expect: 'listing',
    builders: ['legacy'],
  },
  {
    name: 'a binary for another architecture',
    dir: () => pair(BUSYBOX, 'cp /payload/arm64 /o/app && chmod 755 /o/app', SCRATCH_APP, { arm64: aarch64Header() }),
    expect: 'listing',
    builders: ['legacy'],
  },
  {
    name: 'a dynamically linked binary on scratch',
    dir: () => pair('gcc:12', 'cp /bin/ls /o/app', SCRATCH_APP),
    expect: 'listing',
    builders: ['legacy', 'buildkit'],
  },
  {
    name: 'a glibc tree copied whole (COPY . /): loader, libraries, ld.so.cache, symlinks, the added Dockerfile',
    dir: () => pair('gcc:12', GLIBC_TREE, 'FROM scratch\nCOPY . /\nENTRYPOINT ["/links/relative"]\n'),
    expect: 'listing',
    builders: ['legacy', 'buildkit'],
  },
  {
    name: 'WORKDIR, relative destinations, a folder into a folder, several sources',
    dir: () =>
      pair(
        BUSYBOX,
        'mkdir -p /o/tree/sub && cp /bin/busybox /o/tree/sub/tool && echo x > /o/tree/data && ln -s sub/tool /o/tree/run && cp /bin/busybox /o/app && echo a > /o/a && echo b > /o/b',
        'FROM busybox:1.36\nWORKDIR /srv\nCOPY tree/ ./tree\nCOPY a b more/\nWORKDIR sub\nCOPY app .\nENTRYPOINT ["./app"]\nCMD ["true"]\n',
      ),
    expect: 'listing',
    builders: ['legacy', 'buildkit'],
  },
  {
    name: "a COPY onto busybox's /bin/sh, a symlink",
    dir: () => pair(BUSYBOX, 'printf "#!/bin/sh\\n" > /o/sh && chmod 755 /o/sh', 'FROM busybox:1.36\nCOPY sh /bin/sh\nENTRYPOINT ["/bin/sh"]\n'),
    expect: /writes to \/bin\/sh, a symlink in the image/,
    builders: ['legacy'],
  },
  {
    name: 'a RUN in the runtime Dockerfile',
    dir: () => pair(BUSYBOX, 'cp /bin/busybox /o/app', 'FROM busybox:1.36\nCOPY app /app\nRUN rm /bin/sh\nENTRYPOINT ["/bin/sh"]\n'),
    expect: /RUN on line 3/,
    builders: ['legacy'],
  },
  {
    name: 'a .dockerignore in the context',
    dir: () =>
      pair(BUSYBOX, 'cp /bin/busybox /o/app && cp /bin/busybox /o/other && echo other > /o/.dockerignore', 'FROM scratch\nCOPY . /\nENTRYPOINT ["/other"]\n'),
    expect: /\.dockerignore/,
    builders: ['legacy'],
  },
];

/** The examples, as they are. */
const examples: Case[] = [
  { name: 'examples/hello-go', dir: () => example('hello-go'), expect: 'listing', builders: ['legacy'] },
  { name: 'examples/hello-c', dir: () => example('hello-c'), expect: 'listing', builders: ['legacy'] },
  { name: 'examples/hello-doctor', dir: () => example('hello-doctor'), expect: 'listing', builders: ['legacy'] },
  // COPY --chmod: not modelled (and BuildKit's alone).
  { name: 'examples/hello-cache', dir: () => example('hello-cache'), expect: /COPY on line \d+ has a flag/, builders: ['buildkit'] },
];

function example(name: string): string {
  const parent = makeDir({}, 'dc-fast-example-');
  dirs.push(parent);
  const dir = path.join(parent, name);
  cpSync(path.join(ROOT, 'examples', name), dir, { recursive: true });
  return dir;
}

before(async () => {
  await testEngine();
});

after(async () => {
  for (const dir of dirs) removeDir(dir);
  removeDir(records);
  await removeImages(...tags.flatMap((tag) => [tag, `${tag}-builder`]));
});

describe('the doctor from the listing gives the answers of the doctor from an export', () => {
  let n = 0;
  for (const c of [...cases, ...examples])
    for (const builder of c.builders)
      it(`${c.name} (${builder}): ${c.expect === 'listing' ? 'listed' : 'exported'}, the same findings and files`, async () => {
        const engine = await testEngine();
        const tag = `dc-t-fast-${++n}-${builder}`;
        tags.push(tag);
        const said: string[] = [];
        const result: BuildResult = await buildPair(engine, await pairAt(c.dir()), {
          tag,
          builder,
          force: true,
          recordsDir: records,
          onEvent: (event) => {
            if (event.type === 'phase' && event.phase === 'doctor' && event.message.startsWith('Doctor:')) said.push(event.message);
          },
        });
        assert.equal(said.length, 1, `one line says how the image was checked: ${said.join(' | ')}`);
        if (c.expect === 'listing') assert.match(said[0], /from the base image's listing and the context/);
        else assert.match(said[0], c.expect);

        const exported = await examineImage(engine.docker, result.runtime.id);
        const record = await readRecord(records, result.runtime.id);
        assert.ok(record, 'the build was recorded');
        assert.deepEqual(result.doctor, exported.findings, 'the findings, every field');
        assert.deepEqual(record.files, exported.files, 'the kept listing, every field');
        assert.equal(Boolean(record.filesTruncated), exported.truncated);
        // Only what this build made is counted (the engine is shared): containers of its two images.
        const made = await docker('ps', '-aq', '--filter', `ancestor=${result.runtime.id}`, '--filter', `ancestor=${result.builder.id}`);
        assert.equal(made.trim(), '', 'no container of these images is left (builder run, export)');
      });
});
