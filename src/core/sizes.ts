import prettyBytes from 'pretty-bytes';
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

/** Bytes as people read them, 1000-based with three significant digits like the docker CLI ("846 MB", "4.46 MB"). */
export function formatBytes(bytes: number): string {
  return prettyBytes(bytes);
}

/** A ratio for people: "1151", "16", "2.5". */
function times(ratio: number): string {
  return ratio >= 100 ? String(Math.round(ratio)) : String(Math.round(ratio * 10) / 10);
}

/** A share in percent with one decimal, never rounded up to 100 nor down to 0: "99.9", "37.5", "3", "<0.1". */
function percent(share: number): string {
  const rounded = Math.min(Math.round(share * 1000) / 10, 99.9);
  return rounded === 0 ? '<0.1' : String(rounded);
}

/**
 * How the runtime image compares with its builder, in words that keep their meaning at the extremes:
 * "1151× smaller" (not "−100%"), "37.5% smaller", "4% larger", "16× larger", "the same size".
 */
export function sizeChange(builderSize: number, runtimeSize: number): string {
  if (builderSize <= 0 || runtimeSize <= 0 || builderSize === runtimeSize) return builderSize === runtimeSize ? 'the same size' : 'not comparable';
  if (runtimeSize < builderSize) {
    const ratio = builderSize / runtimeSize;
    return ratio >= 10 ? `${times(ratio)}× smaller` : `${percent(1 - 1 / ratio)}% smaller`;
  }
  const ratio = runtimeSize / builderSize;
  return ratio >= 2 ? `${times(ratio)}× larger` : `${percent(ratio - 1)}% larger`;
}

/**
 * The comparison as a sentence's end, the one wording every surface uses: "1151× smaller than its builder",
 * "0.1% larger than its builder", "the same size as its builder".
 */
export function comparedWithBuilder(builderSize: number, runtimeSize: number): string {
  const change = sizeChange(builderSize, runtimeSize);
  if (change === 'the same size') return 'the same size as its builder';
  if (change === 'not comparable') return 'not comparable with its builder (a size is unknown)';
  return `${change} than its builder`;
}

/** "4.46 MB ← 846 MB": the runtime size first (the number the product exists for), then its builder's. */
export function runtimeFirst(builderSize: number, runtimeSize: number): string {
  return `${formatBytes(runtimeSize)} ← ${formatBytes(builderSize)}`;
}

/** "builder 786 MB → runtime 683 kB (1151× smaller)": the one-line summary the tree, status bar and CLI share. */
export function sizeSummary(builderSize: number, runtimeSize: number): string {
  return `builder ${formatBytes(builderSize)} → runtime ${formatBytes(runtimeSize)} (${sizeChange(builderSize, runtimeSize)})`;
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
    ['', 'builder', 'runtime', 'runtime is'],
    ['image', builder.tag, runtime.tag, ''],
    ['size', formatBytes(builder.size), formatBytes(runtime.size), sizeChange(builder.size, runtime.size)],
    ['id', builder.id.replace(/^sha256:/, '').slice(0, 12), runtime.id.replace(/^sha256:/, '').slice(0, 12), ''],
  ];
  const widths = rows[0].map((_, col) => Math.max(...rows.map((row) => row[col].length)));
  return rows
    .map((row) =>
      row
        .map((cell, col) => cell.padEnd(widths[col]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
