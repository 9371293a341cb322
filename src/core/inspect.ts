import type Docker from 'dockerode';
import * as tar from 'tar-stream';
import { DockerceptionError } from './errors';
import { builderTagFor } from './pipeline';
import { imageSize, type ImageSize } from './sizes';
import { normaliseEntryName } from './tar-gate';

export interface Layer {
  /** The instruction that made the layer, as `docker history` shows it without the shell prefix. */
  step: string;
  size: number;
}

export interface FileSize {
  path: string;
  size: number;
}

export interface PairInspection {
  builder: ImageSize | undefined;
  runtime: ImageSize & { layers: Layer[]; largestFiles: FileSize[] };
}

/** "/bin/sh -c #(nop) COPY file:ab12… in /app " → "COPY file:ab12… in /app". */
export function stepOf(createdBy: string): string {
  return createdBy
    .replace(/^\/bin\/sh -c #\(nop\)\s*/, '')
    .replace(/^\/bin\/sh -c /, 'RUN ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The image's layers, oldest first, with the size each added (metadata steps add 0). */
export async function layersOf(docker: Docker, ref: string): Promise<Layer[]> {
  const history = (await docker.getImage(ref).history()) as Array<{ CreatedBy: string; Size: number }>;
  return history.reverse().map((entry) => ({ step: stepOf(entry.CreatedBy), size: entry.Size }));
}

/**
 * The largest files of an image, read by streaming an export of a (never started) container through
 * tar-stream: nothing is written to disk and only the top `count` sizes are kept. Meant for runtime
 * images, which are small; the container is always removed.
 */
export async function largestFilesOf(docker: Docker, ref: string, count = 10): Promise<FileSize[]> {
  // A scratch image may have no command; the container is never started, so any will do.
  const container = await docker.createContainer({ Image: ref, Cmd: ['/dockerception-inspect'], Labels: { 'org.dockerception.inspect': '1' } });
  try {
    const exported = await container.export();
    const extract = tar.extract();
    const top: FileSize[] = [];
    extract.on('entry', (header, stream, next) => {
      if (header.type === 'file' && header.size > 0) {
        top.push({ path: `/${normaliseEntryName(header.name)}`, size: header.size });
        top.sort((a, b) => b.size - a.size);
        if (top.length > count) top.pop();
      }
      stream.on('end', () => next());
      stream.resume();
    });
    await new Promise<void>((resolve, reject) => {
      extract.on('finish', () => resolve());
      extract.on('error', reject);
      exported.on('error', reject);
      exported.on('data', (chunk: Buffer) => {
        if (!extract.write(chunk)) {
          exported.pause();
          extract.once('drain', () => exported.resume());
        }
      });
      exported.on('end', () => extract.end(null));
    });
    return top;
  } finally {
    await container.remove({ force: true, v: true }).catch(() => undefined);
  }
}

/** Sizes side by side, the runtime image's layers and largest files, for a pair's tags. */
export async function inspectPair(docker: Docker, runtimeTag: string): Promise<PairInspection> {
  const [builder, runtime] = await Promise.all([imageSize(docker, builderTagFor(runtimeTag)), imageSize(docker, runtimeTag)]);
  if (!runtime) {
    throw new DockerceptionError('NO_PAIR', `There is no image ${runtimeTag} yet: build the pair first ('dockerception build').`, 'inspect');
  }
  const [layers, largestFiles] = await Promise.all([layersOf(docker, runtimeTag), largestFilesOf(docker, runtimeTag)]);
  return { builder, runtime: { ...runtime, layers, largestFiles } };
}
