// Where problems go (src/extension/diagnostics/locate.ts) and the CLI's `FILE:LINE: error CODE: message`
// lines the dockerception task's problem matcher reads: real failing builds on the real engine, through the
// bundled CLI under both of the engine's builders, read with the problem matcher's own regexp from
// package.json. No UI: test/e2e/native-ui.test.ts shows the same problems in code-server's Problems panel.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { lineOfEntrypoint, lineOfStep, locateProblems } from '../../src/extension/diagnostics/locate';
import { BUILDERS, BUSYBOX, ROOT, leftovers, makeDir, removeDir, removeImages, runCli } from '../unit/helpers';

const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const matcher = manifest.contributes.problemMatchers.find((m: { name: string }) => m.name === 'dockerception');
const pattern = new RegExp(matcher.pattern.regexp);

/** The problems a task would show: every stderr line the problem matcher matches, as it reads them. */
function matched(stderr: string): Array<{ file: string; line: number; severity: string; code: string; message: string }> {
  return stderr
    .split('\n')
    .map((line) => pattern.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({
      file: m[matcher.pattern.file],
      line: Number(m[matcher.pattern.line]),
      severity: m[matcher.pattern.severity],
      code: m[matcher.pattern.code],
      message: m[matcher.pattern.message],
    }));
}

describe('problems on the line they are about', { timeout: 5 * 60_000 }, () => {
  const made: string[] = [];
  const tags: string[] = [];
  /** A pair folder named NAME (its image name and tag) under a fresh parent; the CLI runs from that parent. */
  function pair(name: string, files: Record<string, string>): { dir: string; parent: string } {
    const parent = makeDir(Object.fromEntries(Object.entries(files).map(([file, text]) => [`${name}/${file}`, text])), 'dc-native-');
    made.push(parent);
    tags.push(name, `${name}-builder`);
    return { parent, dir: path.join(parent, name) };
  }
  after(async () => {
    await removeImages(...tags);
    for (const dir of made) removeDir(dir);
    assert.deepEqual(await leftovers(), [], 'no container or volume left');
  });

  it('pure: a step maps to its instruction line (ARG before FROM is no step; a FROM matches its image as BuildKit names it)', () => {
    const text =
      'ARG V=1\nFROM busybox:1.36 AS build\nRUN true\n\nRUN echo a \\\n  && exit 3\nFROM scratch\nCOPY --from=build /bin/sh /sh\nENTRYPOINT ["/sh"]\n';
    assert.equal(lineOfStep(text, { index: 3, instruction: 'RUN echo a && exit 3' }), 4);
    assert.equal(lineOfStep(text, { index: 1, instruction: 'FROM docker.io/library/busybox:1.36' }), 1);
    assert.equal(lineOfStep(text, { index: 2, instruction: 'RUN not-in-the-file' }), 2, 'falls back to the position');
    assert.equal(lineOfEntrypoint(text, '/sh'), 8);
  });

  it('pure: a Go builder missing its loader gets the CGO_ENABLED=0 fix; a Dockerfile the builder writes puts findings on that line', () => {
    const files: Record<string, string> = {
      '/p/Dockerfile':
        'FROM golang:1.19\nWORKDIR /src\nRUN go build -o /out/app .\nRUN printf "FROM scratch\\nCOPY app /\\nENTRYPOINT [\\"/app\\"]\\n" > /out/Dockerfile\nCMD ["tar","-cf","-","-C","/out","."]\n',
      '/p/Dockerfile.run': 'FROM scratch\n',
    };
    const problems = locateProblems({
      pair: { name: 'p', dir: '/p', builderDockerfile: '/p/Dockerfile', runtimeDockerfile: '/p/Dockerfile.run' },
      findings: [{ code: 'MISSING_LOADER', severity: 'error', path: '/app', message: '/app is dynamically linked' }],
      dockerfileSource: 'builder-output',
      read: (file) => files[file],
    });
    assert.deepEqual(
      problems.map((p) => [p.file, p.line, p.code, p.fix]),
      [['/p/Dockerfile', 3, 'MISSING_LOADER', 'cgo-disabled']],
    );
  });

  it("pure: a missing Dockerfile.run goes on the builder's CMD line, with the Dockerfile.run written for its tar as the fix", () => {
    const written = 'FROM scratch\nCOPY . /\nENTRYPOINT ["/app"]\n';
    const problems = locateProblems({
      pair: { name: 'p', dir: '/p', builderDockerfile: '/p/Dockerfile', runtimeDockerfile: '/p/Dockerfile.run' },
      error: {
        code: 'NO_PAIR',
        message: "p/Dockerfile.run is missing and the builder's tar has no Dockerfile …",
        phase: 'builder-run',
        runtimeDockerfile: written,
      },
      read: (file) => (file === '/p/Dockerfile' ? 'FROM golang:1.19\nRUN go build -o /out/app .\n\nCMD ["tar","-cf","-","-C","/out","."]\n' : undefined),
    });
    assert.deepEqual(
      problems.map((p) => [p.file, p.line, p.code, p.fix, p.content]),
      [['/p/Dockerfile', 3, 'NO_PAIR', 'create-runtime-dockerfile', written]],
    );
  });

  for (const builder of BUILDERS) {
    it(`${builder}: a failing RUN step and an unreachable base, as the task's problem matcher reads the CLI`, async () => {
      const name = `dc-native-fail-${builder}`;
      const failing = pair(name, {
        Dockerfile: `ARG GREETING=hi\nFROM ${BUSYBOX}\n\nRUN echo "$GREETING" \\\n  && exit 3\nCMD ["tar", "-cf", "-", "/etc/hostname"]\n`,
        'Dockerfile.run': 'FROM scratch\n',
      });
      const run = await runCli(['build', name, '--builder', builder], { cwd: failing.parent });
      assert.equal(run.code, 1, run.stderr);
      const problems = matched(run.stderr);
      assert.equal(problems.length, 1, run.stderr);
      assert.deepEqual(
        { ...problems[0], message: undefined },
        { file: path.join(failing.dir, 'Dockerfile'), line: 4, severity: 'error', code: 'BUILDER_BUILD_FAILED', message: undefined },
      );
      assert.match(problems[0].message, /^The builder image failed to build at step \d\/\d \(RUN echo/);

      // A base no registry here serves (nothing listens on port 9): the problem is on its FROM line.
      const baseName = `dc-native-base-${builder}`;
      const unreachable = pair(baseName, {
        Dockerfile: 'ARG TAG=1\nFROM 127.0.0.1:9/dc-native/none:${TAG}\nCMD ["tar", "-cf", "-", "/etc/hostname"]\n',
        'Dockerfile.run': 'FROM scratch\n',
      });
      const second = await runCli(['build', baseName, '--builder', builder], { cwd: unreachable.parent });
      assert.equal(second.code, 1, second.stderr);
      const onFrom = matched(second.stderr);
      assert.equal(onFrom.length, 1, second.stderr);
      assert.deepEqual([onFrom[0].file, onFrom[0].line, onFrom[0].code], [path.join(unreachable.dir, 'Dockerfile'), 2, 'BUILDER_BUILD_FAILED'], second.stderr);
    });
  }

  it('legacy: a doctor error on the ENTRYPOINT line of Dockerfile.run, as a warning-free image that cannot start', async () => {
    const name = 'dc-native-doctor';
    const doctor = pair(name, {
      Dockerfile: `FROM ${BUSYBOX}\nRUN mkdir /o && echo hi > /o/hi.txt\nCMD ["tar", "-cf", "-", "-C", "/o", "."]\n`,
      'Dockerfile.run': 'FROM scratch\nCOPY hi.txt /\n\nENTRYPOINT ["/ls"]\n',
    });
    const run = await runCli(['build', name], { cwd: doctor.parent });
    assert.equal(run.code, 0, run.stderr);
    const problems = matched(run.stderr);
    assert.deepEqual(
      problems.map((p) => [p.file, p.line, p.severity, p.code]),
      [[path.join(doctor.dir, 'Dockerfile.run'), 4, 'error', 'MISSING_ENTRYPOINT']],
      run.stderr,
    );
  });
});
