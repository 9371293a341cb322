// The doctor and "what grew" on the real engine, through the CLI: runtime images that build and would
// not run, one that would, --strict, and a pair whose runtime grows between builds.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { BUILDERS, BUSYBOX, docker, imageExists, jsonOf, leftovers, makeBuilderPair, makeDir, removeDir, removeImages, runCli } from './helpers';
import { aarch64Header } from '../support/elf';

const records = makeDir({}, 'dc-records-');
const env = { ...process.env, DOCKERCEPTION_STATE_DIR: records };
const dirs: string[] = [];
const tags: string[] = [];
after(async () => {
  for (const dir of dirs) removeDir(path.dirname(dir));
  removeDir(records);
  await removeImages(...tags.flatMap((tag) => [tag, `${tag}-builder`]));
});

/** A pair whose builder (FROM `from`) runs `script` to fill /o, which becomes the runtime context. */
function pair(from: string, script: string, runtime: string, payload: Record<string, string | Buffer> = {}): string {
  const dir = makeBuilderPair(`set -e; mkdir -p /o; ${script}; tar -cf - -C /o .\n`, {
    builder: `FROM ${from}\nCOPY payload /payload\nCMD ["sh", "/payload/run.sh"]\n`,
    runtime,
    payload,
  });
  dirs.push(dir);
  return dir;
}

async function build(dir: string, tag: string, ...args: string[]) {
  tags.push(tag);
  const result = await runCli(['build', dir, '--tag', tag, '--json', ...args], { env });
  return { result, out: jsonOf(result) };
}

const SCRATCH_APP = 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/app"]\n';

for (const builder of BUILDERS)
  describe(`doctor: a dynamically linked binary on scratch (${builder})`, () => {
    it('MISSING_LOADER names the binary, its loader and libraries; the image is tagged; --strict refuses it with DOCTOR', async () => {
      // /bin/ls of a Debian image: a dynamically linked C binary.
      const dir = pair('gcc:12', 'cp /bin/ls /o/app', SCRATCH_APP);
      const tag = `dc-t-doctor-dynamic-${builder}`;
      const { result, out } = await build(dir, tag, '--builder', builder);
      assert.equal(out.ok, true, result.stderr);
      assert.deepEqual(
        out.doctor.map((f: { code: string; severity: string; path: string }) => [f.code, f.severity, f.path]),
        [['MISSING_LOADER', 'error', '/app']],
      );
      assert.match(out.doctor[0].message, /needs the loader \/lib64\/ld-linux-x86-64\.so\.2 and the librar(y|ies) .*libc\.so\.6/);
      assert.match(result.stderr, /doctor: error MISSING_LOADER: \/app is dynamically linked/);
      await assert.rejects(docker('run', '--rm', tag), /no such file or directory/, 'what the doctor said happens');

      await removeImages(tag);
      const strict = await build(dir, tag, '--builder', builder, '--strict');
      assert.equal(strict.out.ok, false);
      assert.equal(strict.out.error.code, 'DOCTOR');
      assert.match(strict.out.error.message, /found 1 problem\(s\) in the runtime image, so it was not tagged[\s\S]*MISSING_LOADER/);
      assert.equal(strict.result.code, 1);
      assert.equal(await imageExists(tag), false);
      assert.deepEqual(await leftovers(), []);
    });
  });

describe('doctor: what else breaks docker run', () => {
  const cases: Array<{ name: string; from: string; script: string; runtime: string; payload?: Record<string, Buffer>; expect: RegExp; codes: string[] }> = [
    { name: 'a static binary', from: BUSYBOX, script: 'cp /bin/busybox /o/app', runtime: SCRATCH_APP, expect: /^$/, codes: [] },
    {
      name: 'an ENTRYPOINT that is not in the image',
      from: BUSYBOX,
      script: 'cp /bin/busybox /o/app',
      runtime: 'FROM scratch\nCOPY app /app\nENTRYPOINT ["/server"]\n',
      expect: /The image's ENTRYPOINT\/CMD is \/server, which is not in the runtime image/,
      codes: ['MISSING_ENTRYPOINT'],
    },
    {
      name: 'an ENTRYPOINT that is not executable',
      from: BUSYBOX,
      script: 'cp /bin/busybox /o/app && chmod 644 /o/app',
      runtime: SCRATCH_APP,
      expect: /not executable \(mode 0644\)/,
      codes: ['NOT_EXECUTABLE'],
    },
    {
      name: 'a script whose interpreter is missing',
      from: BUSYBOX,
      script: 'printf "#!/bin/bash\\necho hi\\n" > /o/app && chmod 755 /o/app',
      runtime: SCRATCH_APP,
      expect: /a script for \/bin\/bash/,
      codes: ['MISSING_INTERPRETER'],
    },
    {
      name: 'a binary for another architecture',
      from: BUSYBOX,
      script: 'cp /payload/arm64 /o/app && chmod 755 /o/app',
      runtime: SCRATCH_APP,
      payload: { arm64: aarch64Header() },
      expect: /built for AArch64, but the runtime image is for amd64/,
      codes: ['FOREIGN_ARCHITECTURE'],
    },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.codes.join(', ') || 'no finding'}`, async () => {
      const tag = `dc-t-doctor-${c.name.replace(/\W+/g, '-')}`.toLowerCase();
      const dir = pair(c.from, c.script, c.runtime, c.payload);
      const { result, out } = await build(dir, tag);
      assert.equal(out.ok, true, result.stderr);
      assert.deepEqual(
        out.doctor.map((f: { code: string }) => f.code),
        c.codes,
      );
      assert.match(out.doctor.map((f: { message: string }) => f.message).join('\n'), c.expect);
      const inspected = jsonOf(await runCli(['inspect', dir, '--tag', tag, '--json'], { env }));
      assert.deepEqual(inspected.doctor, out.doctor, 'inspect finds the same');
    });
  }
});

describe('what grew', () => {
  it('the second build shows the file that grew; inspect --diff --json lists it; --max-growth refuses growth over it', async () => {
    const dir = pair(
      BUSYBOX,
      'cp /bin/busybox /o/app && head -c "$(cat /payload/size)" /dev/zero > /o/data.bin',
      'FROM scratch\nCOPY app data.bin /\nENTRYPOINT ["/app"]\n',
      {
        size: Buffer.from('1000'),
      },
    );
    const tag = 'dc-t-grew';
    assert.equal((await build(dir, tag)).out.growth, undefined, 'a first build has nothing to compare with');
    writeFileSync(path.join(dir, 'payload', 'size'), '3200000');
    const second = await build(dir, tag);
    assert.equal(second.out.ok, true, second.result.stderr);
    assert.equal(second.out.growth.changes[0].path, '/data.bin');
    assert.equal(second.out.growth.changes[0].change, 'grown');
    assert.equal(second.out.growth.changes[0].delta, 3_199_000);
    assert.ok(second.out.growth.sizeDelta >= 3_199_000, String(second.out.growth.sizeDelta));

    const human = await runCli(['build', dir, '--tag', tag], { env });
    assert.match(human.stdout, /Since the build of .*: \+3\.2 MB in all\n\s+\+3\.2 MB\s+\/data\.bin/, 'an up-to-date build shows the same growth');

    const diff = await runCli(['inspect', dir, '--tag', tag, '--diff', '--json'], { env });
    assert.equal(diff.code, 0, diff.stderr);
    const { diff: changes } = jsonOf(diff);
    assert.deepEqual(
      changes.changes.map((c: { path: string; change: string; before: number; after: number }) => [c.path, c.change, c.before, c.after]),
      [['/data.bin', 'grown', 1000, 3_200_000]],
    );

    writeFileSync(path.join(dir, 'payload', 'size'), '6400000');
    const refused = await build(dir, tag, '--max-growth', '1MB');
    assert.equal(refused.out.ok, false);
    assert.equal(refused.out.error.code, 'SIZE_GROWTH');
    assert.match(
      refused.out.error.message,
      /3\.2 MB more than the pair's last build .* over the allowed growth of 1 MB; it was not tagged\. Largest growth: \+3\.2 MB \/data\.bin/,
    );
    assert.equal((await docker('image', 'inspect', '--format', '{{.Id}}', tag)).trim(), second.out.runtime.id, 'the tag still names the last good build');
    assert.deepEqual(await leftovers(), []);
  });
});
