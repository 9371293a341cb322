// The bridge's text, without an engine: what export writes for given builder facts, what import writes
// for a multi-stage Dockerfile, and the CLI refusing to overwrite. Whether those texts build the same
// image is test/engines/bridge.test.ts's job (on the real engine).
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { composeExport, splitMultiStage, type BuilderFacts } from '../../src/core/bridge';
import { makeDir, removeDir, runCli } from './helpers';

const facts = (over: Partial<BuilderFacts> = {}): BuilderFacts => ({
  entrypoint: [],
  cmd: ['tar', '-cf', '-', '.'],
  workingDir: '/out',
  user: '',
  shell: [],
  tools: 'ok',
  runtimeDockerfile: 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n',
  runtimeDockerfileSource: 'builder-output',
  dockerignoreInTar: false,
  ...over,
});

describe('export text', () => {
  const builder =
    'ARG GO_IMAGE=golang:1.19\nFROM ${GO_IMAGE} AS compile\nRUN go build -o /out/app .\nFROM compile\nWORKDIR /out\nCMD ["tar", "-cf", "-", "."]\n';

  it('renames stages, runs the command in its own stage and rewrites context COPY lines with --chown=0:0', () => {
    const { text, needsBuildKit } = composeExport(builder, facts());
    assert.deepEqual(needsBuildKit, []);
    assert.match(text.split('\n')[0], /^# Builds with BuildKit and with the legacy builder: docker build -f Dockerfile\.multistage \.$/);
    assert.match(text, /^FROM \$\{GO_IMAGE\} AS builder-compile$/m);
    assert.match(text, /^FROM builder-compile AS builder$/m);
    assert.match(text, /^FROM builder AS builder-output$/m);
    assert.match(text, /^RUN mkdir -p \/dockerception-output && tar -cf - \. > \/dockerception-output\/context\.tar \\$/m);
    assert.match(text, /^COPY --from=builder-output --chown=0:0 \/dockerception-context\/app \/app$/m);
    assert.match(text, /^# was: COPY app \/app$/m);
  });

  it('says in its first line when it needs BuildKit, and notes what it cannot carry over', () => {
    const { text, notes } = composeExport(
      builder,
      facts({ runtimeDockerfile: 'FROM scratch\nCOPY --chmod=0755 app /app\nADD bundle.tar.gz /srv\n', tools: 'no-tar', dockerignoreInTar: true }),
    );
    assert.match(text.split('\n')[0], /^# Needs BuildKit \(it uses COPY --chmod\)/);
    assert.ok(notes.some((n) => /no tar/.test(n)));
    assert.ok(notes.some((n) => /\.dockerignore/.test(n)));
    assert.ok(notes.some((n) => /ADD bundle\.tar\.gz/.test(n)));
    for (const note of notes) assert.ok(text.includes(`# NOTE: ${note}`));
  });

  it('runs a non-root builder as its user and unpacks as root; a Dockerfile.run the runtime copies is written into the context', () => {
    const { text } = composeExport(builder, facts({ user: 'app', runtimeDockerfile: 'FROM scratch\nCOPY . /ctx\n', runtimeDockerfileSource: 'pair' }));
    assert.match(text, /^USER app\nRUN tar -cf - \. > \/dockerception-output\/context\.tar\nUSER root$/m);
    assert.match(text, /printf '%s\\n' 'FROM scratch' 'COPY \. \/ctx' > \/dockerception-context\/Dockerfile/);
  });

  it('refuses a builder without a command, saying what to do', () => {
    assert.throws(() => composeExport(builder, facts({ cmd: [] })), /neither ENTRYPOINT nor CMD.*Give the builder's Dockerfile a CMD/);
  });
});

describe('import text', () => {
  it('keeps the stages before the last, gathers what the last copies, and reads it from the context', () => {
    const text = readFileSync(path.join(__dirname, '../../../test/fixtures/multistage/node-sheba/Dockerfile'), 'utf8');
    const { builder, runtime } = splitMultiStage(text);
    assert.match(builder, /^FROM busybox:1\.36 AS builder$/m);
    assert.match(builder, /^FROM builder AS dockerception-output\nUSER root\nWORKDIR \/dockerception-out$/m);
    // A wildcard is gathered by its folder; the runtime's COPY picks the same files from it.
    assert.match(builder, /^COPY --from=builder \/app \/dockerception-out\/builder\/app$/m);
    assert.match(builder, /^COPY --from=builder \/app\/build \/dockerception-out\/builder\/app\/build$/m);
    assert.match(builder, /^CMD \["tar", "-cf", "-", "\."\]$/m);
    assert.match(runtime, /^COPY builder\/app\/package\*\.json \.\/$/m);
    assert.match(runtime, /^COPY builder\/app\/build \.\/build$/m);
    assert.doesNotMatch(runtime, /^COPY --from/m);
    assert.match(runtime, /^EXPOSE 3000$/m);
  });

  it('keeps a runtime stage built FROM another stage, and copies from the context through the tar', () => {
    const { builder, runtime } = splitMultiStage(
      'FROM golang:1.19 AS build\nRUN go version > /v\nFROM busybox:1.36 AS base\nCOPY conf /etc/conf\nFROM base\nENV D=/opt\nCOPY --from=build --chown=1:1 /v ${D}/v\n',
    );
    assert.match(runtime, /^FROM busybox:1\.36 AS base\n# was: COPY conf \/etc\/conf\nCOPY context\/conf \/etc\/conf\nFROM base$/m);
    assert.match(runtime, /^COPY --chown=1:1 build\/v \$\{D\}\/v$/m);
    assert.match(builder, /^COPY conf \/dockerception-out\/context\/conf$/m);
    assert.match(builder, /^COPY --from=build \/v \/dockerception-out\/build\/v$/m);
  });

  it('refuses a one-stage Dockerfile, saying why', () => {
    assert.throws(() => splitMultiStage('FROM busybox:1.36\nCMD ["true"]\n'), /one stage only.*multi-stage Dockerfile/);
  });
});

describe('the CLI never overwrites without --force', () => {
  it('import refuses an existing Dockerfile (exit 2, says --force), then writes the pair with --force', async () => {
    const dir = makeDir({ Dockerfile: 'FROM golang:1.19 AS build\nRUN true\nFROM scratch\nCOPY --from=build /etc/hostname /h\n' });
    try {
      const refused = await runCli(['import', path.join(dir, 'Dockerfile')]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /already exists; nothing was written.*--force/s);
      const forced = await runCli(['import', path.join(dir, 'Dockerfile'), '--force']);
      assert.equal(forced.code, 0, forced.stderr);
      assert.match(readFileSync(path.join(dir, 'Dockerfile.run'), 'utf8'), /^COPY build\/etc\/hostname \/h$/m);
      const usage = await runCli(['import']);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /needs the multi-stage Dockerfile/);
    } finally {
      removeDir(dir);
    }
  });

  it('export refuses an existing -o FILE before building anything', async () => {
    const dir = makeDir({
      Dockerfile: 'FROM busybox:1.36\nCMD ["tar", "-cf", "-", "/etc/hostname"]\n',
      'Dockerfile.run': 'FROM scratch\n',
      'out.Dockerfile': 'keep me\n',
    });
    try {
      const refused = await runCli(['export', dir, '-o', path.join(dir, 'out.Dockerfile')]);
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, /already exists; nothing was written\. Use --force/);
      assert.equal(readFileSync(path.join(dir, 'out.Dockerfile'), 'utf8'), 'keep me\n');
    } finally {
      removeDir(dir);
    }
  });
});
