// Proof by equality for issue 25: a pair and its export (one multi-stage Dockerfile), a multi-stage
// Dockerfile and its import (a pair), build the same runtime image on the real engine: the same files
// (path, type, size, mode, owner, link target, content hash) and the same config. The judge is the engine
// itself: every image is read back through it (a never-started container's export, the image's inspect).
// The plain builds are the docker CLI's (legacy builder) or the engine's BuildKit through the core's build.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import * as tar from 'tar-stream';
import { exportPair, importDockerfile, splitMultiStage } from '../../src/core/bridge';
import { buildCacheRecords, pruneRecord } from '../../src/core/buildkit-cache';
import { packContext } from '../../src/core/context';
import { closeEngine, connectEngine, type Engine } from '../../src/core/engine';
import { buildImage } from '../../src/core/image-build';
import { pairFor } from '../../src/core/pairs';
import { buildPair } from '../../src/core/pipeline';
import { ROOT, docker as dockerCli, makeBuilderPair, removeDir } from '../unit/helpers';
import { removeTempDirs, tempDir } from './env';

interface FileFacts {
  type: string;
  size: number;
  mode: string;
  uid: number;
  gid: number;
  link?: string;
  sha256?: string;
}

interface Snapshot {
  files: Map<string, FileFacts>;
  config: Record<string, unknown>;
}

const CONFIG_FIELDS = ['Entrypoint', 'Cmd', 'Env', 'WorkingDir', 'User', 'ExposedPorts', 'Labels', 'Volumes'] as const;

/** An image as the engine shows it: its files (from a never-started container's export) and config. */
async function snapshot(docker: Docker, ref: string): Promise<Snapshot> {
  const info = await docker.getImage(ref).inspect();
  const config: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) config[field] = (info.Config as unknown as Record<string, unknown>)[field] ?? null;
  const container = await docker.createContainer({ Image: ref, Entrypoint: ['/dc-bridge-never-run'], Cmd: [] });
  const files = new Map<string, FileFacts>();
  try {
    const exported = await container.export();
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const name = `/${header.name}`.replace(/\/+$/, '').replace(/^\/\.\//, '/') || '/';
      const facts: FileFacts = {
        type: header.type ?? 'file',
        size: header.size ?? 0,
        mode: ((header.mode ?? 0) & 0o7777).toString(8),
        uid: header.uid ?? 0,
        gid: header.gid ?? 0,
      };
      if (header.linkname) facts.link = header.linkname;
      const hash = createHash('sha256');
      const body = stream as unknown as NodeJS.ReadableStream;
      body.on('data', (chunk: Buffer) => hash.update(chunk));
      body.on('end', () => {
        if (facts.type === 'file') facts.sha256 = hash.digest('hex');
        files.set(name, facts);
        next();
      });
    });
    await new Promise<void>((resolve, reject) => {
      extract.on('finish', resolve);
      extract.on('error', reject);
      exported.on('error', reject);
      exported.pipe(extract as unknown as NodeJS.WritableStream);
    });
  } finally {
    await container.remove({ force: true, v: true });
  }
  return { files, config };
}

/** Every difference, field by field; empty when the images are the same. */
function differences(a: Snapshot, b: Snapshot, labels: [string, string]): string[] {
  const out: string[] = [];
  for (const field of CONFIG_FIELDS) {
    const left = JSON.stringify(a.config[field]);
    const right = JSON.stringify(b.config[field]);
    if (left !== right) out.push(`config ${field}: ${labels[0]} ${left} ≠ ${labels[1]} ${right}`);
  }
  const paths = [...new Set([...a.files.keys(), ...b.files.keys()])].sort();
  for (const p of paths) {
    const left = a.files.get(p);
    const right = b.files.get(p);
    if (!left || !right) {
      out.push(`${p}: only in ${left ? labels[0] : labels[1]}`);
      continue;
    }
    for (const key of ['type', 'size', 'mode', 'uid', 'gid', 'link', 'sha256'] as const) {
      if (left[key] !== right[key]) out.push(`${p} ${key}: ${labels[0]} ${String(left[key])} ≠ ${labels[1]} ${String(right[key])}`);
    }
  }
  return out;
}

function assertSame(a: Snapshot, b: Snapshot, labels: [string, string]): void {
  const diff = differences(a, b, labels);
  assert.deepEqual(diff, [], `the images differ:\n  ${diff.join('\n  ')}`);
  assert.ok(a.files.size > 0, 'the snapshot lists files');
}

/** Image ids a legacy build's output names (` ---> id`): the stages' images it leaves untagged. */
const stepIds = (output: string) => [...output.matchAll(/---> ([0-9a-f]{12})\b/g)].map((m) => m[1]);

describe('issue 25: both ways across the bridge, proved by equality on the engine', { timeout: 40 * 60_000 }, () => {
  let engine: Engine;
  let docker: Docker;
  const tags = new Set<string>();
  const intermediate = new Set<string>();
  let recordsBefore: Set<string>;
  let records: string;

  /** A plain `docker build` (the legacy builder) of FILE with CONTEXT. */
  async function plainBuild(tag: string, file: string, context: string): Promise<string> {
    tags.add(tag);
    const output = await dockerCli('build', '-t', tag, '-f', file, context);
    for (const id of stepIds(output)) intermediate.add(id);
    return tag;
  }

  /** The engine's BuildKit on CONTEXT with TEXT as its Dockerfile (the docker CLI here has no buildx). */
  async function buildKitBuild(tag: string, text: string, context: string): Promise<string> {
    const dir = tempDir('dc-bridge-bk-');
    cpSync(context, dir, { recursive: true });
    writeFileSync(path.join(dir, 'Dockerfile'), text);
    tags.add(tag);
    await buildImage(docker, packContext(dir), { role: 'runtime', builder: 'buildkit', tag, dockerfileHint: 'the exported Dockerfile' });
    return tag;
  }

  async function pipelineBuild(dir: string, tag: string, builder: 'legacy' | 'buildkit' | 'auto' = 'auto'): Promise<string> {
    tags.add(tag);
    tags.add(`${tag}-builder`);
    await buildPair(engine, pairFor(dir), {
      tag,
      builder,
      recordsDir: records,
      onEvent: (event) => {
        if (event.type === 'log') for (const id of stepIds(event.line)) intermediate.add(id);
      },
    });
    return tag;
  }

  before(async () => {
    engine = await connectEngine();
    docker = engine.docker;
    records = tempDir('dc-bridge-records-');
    recordsBefore = new Set((await buildCacheRecords(docker)).map((r) => r.ID));
  });

  after(async () => {
    await Promise.all(
      [...tags].map((tag) =>
        docker
          .getImage(tag)
          .remove({ noprune: false })
          .catch(() => undefined),
      ),
    );
    // The stages' images the legacy builder left untagged: only those still without a tag (never a base image).
    for (const id of [...intermediate].reverse()) {
      const info = await docker
        .getImage(id)
        .inspect()
        .catch(() => undefined);
      if (info && (info.RepoTags ?? []).length === 0)
        await docker
          .getImage(id)
          .remove()
          .catch(() => undefined);
    }
    for (const record of await buildCacheRecords(docker).catch(() => [])) {
      if (!recordsBefore.has(record.ID) && !record.InUse) await pruneRecord(docker, record.ID).catch(() => 0);
    }
    removeTempDirs();
    closeEngine(engine);
  });

  describe('export: each example pair and its multi-stage Dockerfile', () => {
    const examples = readdirSync(path.join(ROOT, 'examples')).sort();

    for (const name of examples) {
      it(`${name}: the pipeline's runtime image = a plain build of the export`, async () => {
        const dir = path.join(ROOT, 'examples', name);
        const tag = `dc-bridge-ex-${name}`;
        await pipelineBuild(dir, tag);
        const result = await exportPair(engine, pairFor(dir), { builderTag: `${tag}-builder`, outputName: 'Dockerfile.multistage' });
        const out = path.join(tempDir('dc-bridge-export-'), 'Dockerfile.multistage');
        writeFileSync(out, result.text);
        const firstLine = result.text.split('\n')[0];
        const exported = result.needsBuildKit.length > 0 ? await buildKitBuild(`${tag}-export`, result.text, dir) : await plainBuild(`${tag}-export`, out, dir);
        assert.match(firstLine, result.needsBuildKit.length > 0 ? /^# Needs BuildKit/ : /^# Builds with BuildKit and with the legacy builder/);
        const pipeline = await snapshot(docker, tag);
        assertSame(pipeline, await snapshot(docker, exported), ['pipeline', 'export']);
      });
    }

    it('a busybox pair run as a user, in a WORKDIR, with ENTRYPOINT + CMD and ENV, whose tar has owners, modes and a link', async () => {
      // The runtime copies the whole context, so the Dockerfile.run the pipeline adds to it is copied too.
      const script = [
        'd=$PWD/out && mkdir "$d"',
        'mkdir "$d/dir" && echo secret > "$d/dir/f" && chmod 600 "$d/dir/f" && chmod 750 "$d/dir"',
        'ln -s dir/f "$d/link"',
        'echo "$1 $PWD $(id -u) $GREETING" > "$d/args"',
        'tar -C "$d" -cf - .',
        '',
      ].join('\n');
      const dir = makeBuilderPair(script, {
        builder: [
          'FROM busybox:1.36',
          'COPY payload /payload',
          'RUN mkdir -p /home/app && chown 1000:1000 /home/app',
          'ENV GREETING="hello there"',
          'USER 1000',
          'WORKDIR /home/app',
          'ENTRYPOINT ["sh", "/payload/run.sh"]',
          'CMD ["--from-cmd"]',
          '',
        ].join('\n'),
        runtime: 'FROM busybox:1.36\nCOPY . /ctx\nCOPY dir /d\nUSER 1000\nCMD ["cat", "/ctx/args"]\n',
        name: 'dc-bridge-busybox',
      });
      const tag = 'dc-bridge-ex-busybox';
      try {
        await pipelineBuild(dir, tag, 'legacy');
        const result = await exportPair(engine, pairFor(dir), { builderTag: `${tag}-builder`, builder: 'legacy' });
        assert.match(result.text, /^USER 1000\nRUN sh \/payload\/run.sh --from-cmd > /m, "the command runs as the builder's user");
        const out = path.join(tempDir('dc-bridge-export-'), 'Dockerfile.multistage');
        writeFileSync(out, result.text);
        const pipeline = await snapshot(docker, tag);
        assert.equal(pipeline.files.get('/ctx/dir/f')?.mode, '600');
        assertSame(pipeline, await snapshot(docker, await plainBuild(`${tag}-export`, out, dir)), ['pipeline', 'export']);
      } finally {
        removeDir(path.dirname(dir));
      }
    });

    it('hello-c: with BuildKit, the pipeline (BuildKit) = the same export built by BuildKit (its first line says both builders)', async () => {
      // Compared builder with builder: BuildKit gives a scratch image WorkingDir "/" where the legacy builder gives "".
      const dir = path.join(ROOT, 'examples', 'hello-c');
      const tag = 'dc-bridge-ex-hello-c-bk';
      await pipelineBuild(dir, tag, 'buildkit');
      const result = await exportPair(engine, pairFor(dir), { builderTag: `${tag}-builder`, builder: 'buildkit' });
      assert.deepEqual(result.needsBuildKit, []);
      assert.match(result.text.split('\n')[0], /^# Builds with BuildKit and with the legacy builder/);
      assertSame(await snapshot(docker, tag), await snapshot(docker, await buildKitBuild(`${tag}-export`, result.text, dir)), [
        'pipeline (BuildKit)',
        'export (BuildKit)',
      ]);
    });
  });

  describe('import: real multi-stage Dockerfiles, their pairs and the export of those pairs', () => {
    const fixtures = path.join(ROOT, 'test', 'fixtures', 'multistage');
    const names = readdirSync(fixtures).sort();
    it('has at least eight real Dockerfiles, each naming its source', () => {
      assert.ok(names.length >= 8, `${names.length} fixtures`);
      for (const name of names) assert.match(readFileSync(path.join(fixtures, name, 'Dockerfile'), 'utf8'), /^# Source: https:\/\/github\.com\//m, name);
    });
    for (const name of names) {
      it(`${name}: original = its pair = the pair's export`, async () => {
        const src = path.join(fixtures, name);
        const tag = `dc-bridge-ms-${name}`;
        const original = await snapshot(docker, await plainBuild(tag, path.join(src, 'Dockerfile'), src));

        // Import into a copy (the pair's builder Dockerfile takes the multi-stage file's place).
        const dir = path.join(tempDir('dc-bridge-import-'), name);
        mkdirSync(dir);
        cpSync(src, dir, { recursive: true });
        const imported = await importDockerfile(path.join(dir, 'Dockerfile'), { force: true });
        assert.ok(splitMultiStage(readFileSync(path.join(src, 'Dockerfile'), 'utf8')).runtime.length > 0);
        const pairTag = `${tag}-pair`;
        await pipelineBuild(dir, pairTag, 'legacy');
        assertSame(original, await snapshot(docker, pairTag), ['original', `pair (notes: ${imported.notes.join(' | ') || 'none'})`]);

        const exported = await exportPair(engine, pairFor(dir), { builderTag: `${pairTag}-builder`, builder: 'legacy' });
        const out = path.join(tempDir('dc-bridge-reexport-'), 'Dockerfile.multistage');
        writeFileSync(out, exported.text);
        assertSame(original, await snapshot(docker, await plainBuild(`${tag}-export`, out, dir)), ['original', 'export of its pair']);
      });
    }
  });
});
