// The build cache, listed without sizing every image: what BuildKit builds ask of the engine around each
// build, checked against the engine's own /system/df on the machine's engine.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type Docker from 'dockerode';
import { buildCacheRecords } from '../../src/core/buildkit-cache';
import { closeEngine, connectEngine, type Engine } from '../../src/core/engine';
import { pairFor } from '../../src/core/pairs';
import { buildPair } from '../../src/core/pipeline';
import { makeBuilderPair, removeDir, removeImages } from '../unit/helpers';
import { removeTempDirs, tempDir } from './env';

interface Dialled {
  method: string;
  path: string;
  query: Record<string, unknown>;
}

/** Every request the client makes from now on (docker-modem's dial is the one door). */
function recordRequests(docker: Docker): Dialled[] {
  const seen: Dialled[] = [];
  const modem = docker.modem as unknown as { dial: (options: Record<string, unknown>, callback: unknown) => unknown };
  const dial = modem.dial.bind(modem);
  modem.dial = (options, callback) => {
    seen.push({ method: String(options.method), path: String(options.path), query: { ...((options.options as Record<string, unknown>) ?? {}) } });
    return dial(options, callback);
  };
  return seen;
}

describe('the build cache, listed alone', () => {
  let engine: Engine;
  let pair: string;

  before(async () => {
    engine = await connectEngine();
    pair = makeBuilderPair('mkdir -p /o && echo hello > /o/hello.txt && tar -C /o -cf - .\n');
  });
  after(async () => {
    await removeImages('dc-e-cache', 'dc-e-cache-builder');
    closeEngine(engine);
    removeDir(path.dirname(pair));
    removeTempDirs();
  });

  it("lists the same records as the engine's /system/df, with the fields the clean-up reads", async () => {
    const [ours, df] = await Promise.all([buildCacheRecords(engine.docker), engine.docker.df() as Promise<{ BuildCache?: Array<Record<string, unknown>> }>]);
    const theirs = new Map((df.BuildCache ?? []).map((r) => [r.ID as string, r]));
    // Records may come and go between the two answers (other builds on this engine): compare the common ones.
    const common = ours.filter((r) => theirs.has(r.ID));
    assert.ok(common.length >= Math.min(ours.length, theirs.size) - 5, `${ours.length} listed, ${theirs.size} in /system/df, ${common.length} in both`);
    for (const record of common) {
      const other = theirs.get(record.ID)!;
      assert.equal(record.Description ?? '', other.Description ?? '', record.ID);
      assert.equal(Boolean(record.InUse), Boolean(other.InUse), record.ID);
      assert.equal(Boolean(record.Shared), Boolean(other.Shared), record.ID);
      assert.equal(record.Parent ?? '', (other.Parent as string | undefined) ?? (other.Parents as string[] | undefined)?.[0] ?? '', record.ID);
      assert.equal(Date.parse(record.CreatedAt ?? ''), Math.floor(Date.parse(String(other.CreatedAt))), record.ID);
    }
  });

  it('a BuildKit build never asks the whole /system/df, and lists the cache a few times', async () => {
    const requests = recordRequests(engine.docker);
    const result = await buildPair(engine, pairFor(pair), { tag: 'dc-e-cache', builder: 'buildkit', force: true, recordsDir: tempDir('dc-records-') });
    assert.equal(result.ok, true);
    const wholeDf = requests.filter((r) => r.path.startsWith('/system/df') && r.query.type !== 'build-cache');
    const listings = requests.filter((r) => r.path.startsWith('/system/df') || r.path === '/grpc');
    assert.deepEqual(wholeDf, [], 'no request sized every image, container and volume');
    // Two builds (builder, runtime), each listing before and after it, and once more while the engine
    // still holds a context record.
    assert.ok(listings.length <= 6, `the cache was listed ${listings.length} times: ${JSON.stringify(listings)}`);
    console.log(`requests of one BuildKit pair build: ${requests.length}, build cache listings: ${listings.length}`);
  });
});
