// BuildKit keeps every streamed build context in its build cache: an `http url http://build-context-<id>`
// record and its extracted copy (a parentless, unshared `fileop target` made right after it). The URL is
// random per build, so those records are never reused and would pile up, about twice the context a build.
// After each BuildKit build we remove the ones it created, and nothing else.
import type Docker from 'dockerode';

interface CacheRecord {
  ID: string;
  Parent?: string;
  Type?: string;
  Description?: string;
  InUse?: boolean;
  Shared?: boolean;
  CreatedAt?: string;
}

const CONTEXT_URL = /^http url http:\/\/build-context-/;
/** The context's copy is made within moments of its download; a COPY step comes much later. */
const COPY_WINDOW_MS = 1000;

export async function buildCacheRecords(docker: Docker): Promise<CacheRecord[]> {
  const df = (await docker.df()) as { BuildCache?: CacheRecord[] | null };
  return df.BuildCache ?? [];
}

/** The records among `records` that hold a streamed build context, created since `before` was listed. */
export function contextRecords(records: CacheRecord[], before: ReadonlySet<string>): CacheRecord[] {
  const fresh = records.filter((r) => !before.has(r.ID));
  const downloads = fresh.filter((r) => CONTEXT_URL.test(r.Description ?? ''));
  const copies = downloads.flatMap((download) => {
    const at = Date.parse(download.CreatedAt ?? '');
    const copy = fresh
      .filter((r) => r.Description === 'fileop target' && !r.Parent && !r.Shared)
      .map((r) => ({ r, after: Date.parse(r.CreatedAt ?? '') - at }))
      .filter(({ after }) => after >= 0 && after <= COPY_WINDOW_MS)
      .sort((a, b) => a.after - b.after)[0];
    return copy ? [copy.r] : [];
  });
  return [...downloads, ...copies];
}

/**
 * Removes the context records a build made since `before`. A cancelled build may still hold them for a
 * moment, and the engine does not prune records in use: wait for them, up to `waitMs`. A build that
 * failed early may have its context recorded just after it answered: look once more after `settleMs`.
 */
export async function removeContextRecords(docker: Docker, before: ReadonlySet<string>, options: { waitMs?: number; settleMs?: number } = {}): Promise<number> {
  const deadline = Date.now() + (options.waitMs ?? 5000);
  let removed = 0;
  let settled = !options.settleMs;
  for (;;) {
    const targets = contextRecords(await buildCacheRecords(docker), before);
    for (const record of targets.filter((r) => !r.InUse)) {
      await pruneRecord(docker, record.ID);
      removed++;
    }
    const waiting = targets.some((r) => r.InUse) && Date.now() < deadline;
    if (!waiting && settled) return removed;
    if (!waiting) settled = true;
    await new Promise((resolve) => setTimeout(resolve, waiting ? 200 : options.settleMs));
  }
}

/**
 * POST /build/prune with one id filter (the engine takes a single value per filter). `all` lifts the
 * type restriction, so a layer record an image shares goes too (the image keeps its own copy).
 * Resolves to how many records the engine removed.
 */
export function pruneRecord(docker: Docker, id: string, options: { all?: boolean } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      {
        path: '/build/prune?',
        method: 'POST',
        options: { ...(options.all ? { all: true } : {}), filters: JSON.stringify({ id: [id] }) },
        statusCodes: { 200: true, 400: 'bad request', 500: 'server error' },
      },
      (error: unknown, data: unknown) => (error ? reject(error) : resolve(((data as { CachesDeleted?: string[] } | undefined)?.CachesDeleted ?? []).length)),
    );
  });
}
