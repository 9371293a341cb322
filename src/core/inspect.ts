import type Docker from 'dockerode';
import { examineImage, type Finding } from './doctor';
import { DockerceptionError } from './errors';
import { builderTagFor } from './pipeline';
import { imageSize, type ImageSize } from './sizes';

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
  /** The doctor's findings for the runtime image as it is now. */
  doctor: Finding[];
}

const LARGEST_FILES = 10;

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

/** Sizes side by side, the runtime image's layers and largest files, for a pair's tags. */
export async function inspectPair(docker: Docker, runtimeTag: string): Promise<PairInspection> {
  const [builder, runtime] = await Promise.all([imageSize(docker, builderTagFor(runtimeTag)), imageSize(docker, runtimeTag)]);
  if (!runtime) {
    throw new DockerceptionError('NO_PAIR', `There is no image ${runtimeTag} yet: build the pair first ('dockerception build').`, 'inspect');
  }
  const [layers, exam] = await Promise.all([layersOf(docker, runtimeTag), examineImage(docker, runtimeTag)]);
  const largestFiles = exam.files
    .filter((f) => f.size > 0)
    .slice(0, LARGEST_FILES)
    .map(({ path, size }) => ({ path, size }));
  return { builder, runtime: { ...runtime, layers, largestFiles }, doctor: exam.findings };
}
