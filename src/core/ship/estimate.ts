import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { extract } from 'tar-stream';
import type { Engine } from '../engine';
import { messageOf } from '../errors';
import { ShipError } from './errors';

/**
 * The gzip level the engine compresses a layer with when it pushes it. moby v20.10 distribution/push.go
 * `compress()` wraps the layer's tar in Go's `gzip.NewWriter`, i.e. gzip.DefaultCompression, which
 * compress/flate maps to level 6. (Go's deflate is not zlib's, so the bytes differ slightly; the test
 * measures how much against real pushes.)
 */
export const ENGINE_PUSH_GZIP_LEVEL = 6;

export interface LayerEstimate {
  /** The layer's folder in the engine's export (docker save layout). */
  id: string;
  uncompressed: number;
  compressed: number;
}

export interface PullSizeEstimate {
  /** The image's layers in order, each compressed the way the engine will push it. */
  layers: LayerEstimate[];
  /** The config JSON's size: the registry stores it as is. */
  configSize: number;
  /** Sum of the compressed layers. */
  layerBytes: number;
  /** layerBytes + configSize: what a pull downloads, estimated. */
  pullSize: number;
  /** The uncompressed layers' sum. */
  uncompressed: number;
  elapsedMs: number;
}

/** gzip's header (no name, no time: 10 bytes, as Go's gzip.Writer writes it for a layer) and trailer (CRC-32, size). */
const GZIP_FRAMING = 10 + 8;
/** Deflate's window: each block is compressed with the previous block's last 32 KiB as its dictionary. */
const WINDOW = 32 * 1024;
const BLOCK = 1024 * 1024;
/** Blocks compressing at once (libuv's pool has 4 threads); the stream waits beyond that. */
const IN_FLIGHT = 4;

/**
 * The gzip size of what is written to it, compressed as pigz does: 1 MiB blocks deflated at once on libuv's
 * threads, each primed with the 32 KiB before it and ended with a sync flush (the last one finished), so the
 * matches a single stream would find across a block's start are found too. The result differs from one
 * zlib stream by a few bytes per block (test/unit/ship-estimate.test.ts compares both on a seeded corpus, and
 * test/engines/ship.test.ts the estimate with the registry's figure); on 2 CPUs it takes about half the time of one stream.
 */
export class ParallelGzipSize extends Writable {
  private block: Buffer[] = [];
  private blockBytes = 0;
  private previousTail: Buffer | undefined;
  private readonly running: Array<Promise<number>> = [];
  private compressed = 0;
  private collected = 0;

  /** `collect`: every block's deflate output in order, for a test to inflate (one raw deflate stream). */
  constructor(
    private readonly level: number,
    private readonly collect?: Buffer[],
  ) {
    super();
  }

  /** The gzip size, once the stream has finished. */
  get bytes(): number {
    return this.compressed + GZIP_FRAMING;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.block.push(chunk);
    this.blockBytes += chunk.length;
    if (this.blockBytes < BLOCK) return callback();
    this.dispatch(false)
      .then(() => callback())
      .catch(callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.dispatch(true)
      .then(() => Promise.all(this.running))
      .then((sizes) => {
        this.compressed += sizes.reduce((sum, size) => sum + size, 0);
        this.running.length = 0;
        callback();
      })
      .catch(callback);
  }

  /** Starts the current block's compression; resolves once fewer than IN_FLIGHT are running. */
  private async dispatch(last: boolean): Promise<void> {
    const data = Buffer.concat(this.block, this.blockBytes);
    this.block = [];
    this.blockBytes = 0;
    const options: zlib.ZlibOptions = {
      level: this.level,
      finishFlush: last ? zlib.constants.Z_FINISH : zlib.constants.Z_SYNC_FLUSH,
      ...(this.previousTail ? { dictionary: this.previousTail } : {}),
    };
    this.previousTail = data.subarray(Math.max(0, data.length - WINDOW));
    const index = this.collected++;
    const size = new Promise<number>((resolve, reject) =>
      zlib.deflateRaw(data, options, (error, out) => {
        if (error) return reject(error);
        if (this.collect) this.collect[index] = out;
        resolve(out.length);
      }),
    );
    size.catch(() => undefined); // awaited below or in _final, which report it
    this.running.push(size);
    while (this.running.length >= IN_FLIGHT) this.compressed += await this.running.shift()!;
  }
}

/**
 * Estimates the pull size of an image before any push: streams the engine's export of it
 * (GET /images/{name}/get, the docker save format) and gzips each layer tar with node's zlib at the
 * engine's level, counting bytes; nothing is written to disk and no whole layer is held in memory. The
 * compressions of successive layers overlap (zlib runs on libuv's threads).
 */
export async function estimatePullSize(engine: Engine, image: string, options: { signal?: AbortSignal; level?: number } = {}): Promise<PullSizeEstimate> {
  const started = Date.now();
  const level = options.level ?? ENGINE_PUSH_GZIP_LEVEL;
  let exported: NodeJS.ReadableStream;
  try {
    exported = await engine.docker.getImage(image).get();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) {
      throw new ShipError('NO_IMAGE', `The engine has no image ${image}: build it first ('dockerception build'), then estimate its pull size.`);
    }
    throw new ShipError('PUSH_FAILED', `The engine could not export ${image} to estimate its pull size (${messageOf(error)}).`, { cause: error });
  }
  const compressed = new Map<string, Promise<{ uncompressed: number; compressed: number }>>();
  const links = new Map<string, string>();
  const files = new Map<string, number>();
  let manifest: Array<{ Config: string; Layers: string[] }> | undefined;
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    const name = path.posix.normalize(header.name).replace(/^\.\//, '');
    if (path.posix.basename(name) === 'layer.tar' && header.type === 'symlink' && header.linkname) {
      links.set(name, path.posix.normalize(path.posix.join(path.posix.dirname(name), header.linkname)));
    } else if (path.posix.basename(name) === 'layer.tar' && header.type === 'file') {
      const counter = new ParallelGzipSize(level);
      const done = pipeline(stream, counter).then(() => ({ uncompressed: header.size ?? 0, compressed: counter.bytes }));
      done.catch(() => undefined);
      compressed.set(name, done);
      stream.on('end', next);
      return;
    } else if (name === 'manifest.json') {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
      stream.on('end', () => {
        manifest = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof manifest;
        next();
      });
      return;
    } else if (header.type === 'file') {
      files.set(name, header.size ?? 0);
    }
    stream.on('end', next);
    stream.resume();
  });
  try {
    await pipeline(exported, reader, { signal: options.signal });
  } catch (error) {
    if (options.signal?.aborted) throw new ShipError('CANCELLED', `The pull-size estimate of ${image} was cancelled; nothing was changed.`);
    throw new ShipError('PUSH_FAILED', `Reading the engine's export of ${image} failed (${messageOf(error)}): check 'docker save ${image}'.`, { cause: error });
  }
  const entry = manifest?.[0];
  if (!entry) throw new ShipError('PUSH_FAILED', `The engine's export of ${image} has no manifest.json: check 'docker save ${image}'.`);
  const layers: LayerEstimate[] = [];
  for (const layer of entry.Layers) {
    const file = links.get(layer) ?? layer;
    const sizes = await compressed.get(file);
    if (!sizes) throw new ShipError('PUSH_FAILED', `The engine's export of ${image} lists ${layer} but has no such layer.`);
    layers.push({ id: path.posix.dirname(file), ...sizes });
  }
  const configSize = files.get(entry.Config) ?? 0;
  const layerBytes = layers.reduce((sum, layer) => sum + layer.compressed, 0);
  return {
    layers,
    configSize,
    layerBytes,
    pullSize: layerBytes + configSize,
    uncompressed: layers.reduce((sum, layer) => sum + layer.uncompressed, 0),
    elapsedMs: Date.now() - started,
  };
}
