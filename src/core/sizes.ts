import type Docker from 'dockerode';

export interface ImageSize {
  tag: string;
  id: string;
  /** Uncompressed size including base layers, as the engine reports it (`Size`). */
  size: number;
  created?: string;
}

/** Size of an image by id or tag, or undefined when the engine has no such image. */
export async function imageSize(docker: Docker, ref: string, tag = ref): Promise<ImageSize | undefined> {
  try {
    const info = await docker.getImage(ref).inspect();
    // Size, not VirtualSize: VirtualSize is gone from API 1.44.
    return { tag, id: info.Id, size: info.Size, created: info.Created };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** Bytes as people read them: 1000-based like the docker CLI ("612MB", "6.1MB"). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits).replace(/\.0+$|(\.\d*[1-9])0+$/, '$1')} ${units[unit]}`;
}

/** Share of the builder's size that the runtime image saves, in percent (0–100, one decimal). */
export function savedPercent(builderSize: number, runtimeSize: number): number {
  if (builderSize <= 0) return 0;
  return Math.round((1 - runtimeSize / builderSize) * 1000) / 10;
}

/** "builder 612 MB → runtime 6.1 MB (−99%)": the one-line summary the tree, status bar and CLI share. */
export function sizeSummary(builderSize: number, runtimeSize: number): string {
  const saved = builderSize > 0 ? Math.round((1 - runtimeSize / builderSize) * 100) : 0;
  return `builder ${formatBytes(builderSize)} → runtime ${formatBytes(runtimeSize)} (−${saved}%)`;
}

/** Parses "10MB", "6.5 MiB", "1024" (bytes) into bytes; undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = (match[2] ?? '').toLowerCase().replace(/b$/, '');
  const powers: Record<string, number> = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12, ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40 };
  const factor = powers[unit];
  return factor === undefined ? undefined : Math.round(Number(match[1]) * factor);
}

/** The side-by-side table printed after a build. */
export function sizeTable(builder: ImageSize, runtime: ImageSize): string {
  const rows = [
    ['', 'builder', 'runtime', 'saved'],
    ['image', builder.tag, runtime.tag, ''],
    ['size', formatBytes(builder.size), formatBytes(runtime.size), `${savedPercent(builder.size, runtime.size)}%`],
    ['id', builder.id.replace(/^sha256:/, '').slice(0, 12), runtime.id.replace(/^sha256:/, '').slice(0, 12), ''],
  ];
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  return rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col])).join('  ').trimEnd()).join('\n');
}
