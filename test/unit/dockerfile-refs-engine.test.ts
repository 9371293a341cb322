// The FROM resolution of dockerfile-refs held to the engine: for each Dockerfile and build args, both
// builders build it, and the image they started from (read back from a label every base carries) must be
// the one imageReferences names.
import * as assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { buildCacheRecords, removeContextRecords } from '../../src/core/buildkit-cache';
import { imageReferences, platformArgs } from '../../src/core/dockerfile-refs';
import { docker, makeTar, removeImages, testEngine } from './helpers';

const BASES = ['a', 'b', 'c'];
const made: string[] = [];

/** A Dockerfile, its build args, and the builders that accept it. */
const cases: Array<{ text: string; args?: Record<string, string>; builders?: Array<'1' | '2'> }> = [
  { text: 'ARG A=dc-refs-a\nFROM $A\n' },
  { text: 'ARG A=dc-refs-a\nFROM "$A"\n' },
  { text: "ARG A='dc-refs-b'\nFROM $A\n" },
  { text: 'ARG A\nARG B=dc-refs-c\nFROM ${A:-${B}}\n' },
  { text: 'ARG T=a\nFROM dc-refs-${T}\n', args: { T: 'b' } },
  { text: 'FROM ${U:-dc-refs-a}\n', args: { U: 'dc-refs-b' } },
  { text: 'ARG A=dc-refs-a\nFROM ${A:+dc-refs-b}\n' },
  { text: 'ARG A=\nFROM ${A:-dc-refs-c}\n' },
  { text: 'ARG A=dc-refs-a\nFROM ${A}\n', args: { A: 'dc-refs-c' } },
  { text: 'ARG A=dc-refs-a\nFROM scratch AS x\nFROM $A\n' },
  { text: 'FROM dc-refs-${TARGETARCH}\n', builders: ['2'] },
];

/** The BuildKit builds below stream their context straight through the API: the records BuildKit keeps of it are ours to remove. */
let recordsBefore: Set<string>;
before(async () => {
  recordsBefore = new Set((await buildCacheRecords((await testEngine()).docker)).map((r) => r.ID));
  for (const which of BASES) {
    const tag = `dc-refs-${which}`;
    const { docker: api } = await testEngine();
    const stream = await api.buildImage(Readable.from([await makeTar([{ name: 'Dockerfile', content: `FROM scratch\nLABEL which=${which}\n` }])]) as never, {
      t: tag,
    });
    await new Promise((resolve, reject) => api.modem.followProgress(stream, (error: unknown) => (error ? reject(error) : resolve(undefined))));
    made.push(tag);
  }
  const arch = (await docker('version', '-f', '{{.Server.Arch}}')).trim();
  await docker('tag', 'dc-refs-a', `dc-refs-${arch}`);
  made.push(`dc-refs-${arch}`);
});
after(async () => {
  await removeImages(...made);
  await removeContextRecords((await testEngine()).docker, recordsBefore);
});

const label = async (ref: string) => (JSON.parse(await docker('image', 'inspect', '-f', '{{json .Config.Labels}}', ref)) as Record<string, string>).which;

test(`FROM as both builders resolve it: ${cases.length} Dockerfiles`, async () => {
  const { docker: api } = await testEngine();
  const version = await api.version();
  let compared = 0;
  for (const { text, args = {}, builders = ['1', '2'] as Array<'1' | '2'> } of cases) {
    for (const builderVersion of builders) {
      const automatic = builderVersion === '2' ? platformArgs(version.Os, version.Arch) : {};
      const ours = imageReferences(text, args, automatic).filter((r) => r.kind === 'from');
      const tag = `dc-refs-built-${made.length}`;
      made.push(tag);
      const stream = await api.buildImage(Readable.from([await makeTar([{ name: 'Dockerfile', content: text }])]) as never, {
        t: tag,
        version: builderVersion,
        buildargs: args,
      });
      await new Promise((resolve, reject) => api.modem.followProgress(stream, (error: unknown) => (error ? reject(error) : resolve(undefined))));
      const engineWhich = await label(tag);
      const lastFrom = ours.at(-1);
      assert.ok(lastFrom, `${JSON.stringify(text)}: no FROM image found by imageReferences`);
      assert.equal(
        await label(lastFrom.ref).catch(() => `(no image ${lastFrom.ref})`),
        engineWhich,
        `${JSON.stringify(text)} ${JSON.stringify(args)}, ${builderVersion === '2' ? 'BuildKit' : 'legacy'}: the engine built from which=${engineWhich}, we named ${lastFrom.ref}`,
      );
      compared++;
    }
  }
  console.log(`dockerfile refs: ${compared} builds, FROM resolved as the engine resolved it in ${compared}`);
});
