// BuildKit keeps every streamed build context in its build cache: an `http url http://build-context-<id>`
// record and its extracted copy (a parentless, unshared `fileop target` made right after it). The URL is
// random per build, so those records are never reused and would pile up, about twice the context a build.
// After each BuildKit build we remove the ones it created, and nothing else.
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { engineVersion, transportOf } from './engine/connect';

export interface CacheRecord {
  ID: string;
  Parent?: string;
  Type?: string;
  Description?: string;
  InUse?: boolean;
  Shared?: boolean;
  CreatedAt?: string;
  LastUsedAt?: string;
}

const CONTEXT_URL = /^http url http:\/\/build-context-/;
/** Clock steps between the two records' times in the engine's own listing: well under a second. */
const SAME_MOMENT_MS = 1_000;

/**
 * The engine's build cache records, and only those. `GET /system/df` sizes every image, container and
 * volume too (seconds on an engine with many images), and API 1.41 ignores its `type=build-cache` filter;
 * so: the filter where the API has it (1.42+), else BuildKit's own DiskUsage through the engine's /grpc
 * endpoint (what buildx uses with the docker driver), else the whole /system/df.
 */
export async function buildCacheRecords(docker: Docker): Promise<CacheRecord[]> {
  const api = await engineVersion(docker)
    .then((v) => v.ApiVersion)
    .catch(() => '');
  if (apiAtLeast(api, 1, 42)) {
    const df = (await getJson(docker, '/system/df?', { type: 'build-cache' })) as { BuildCache?: CacheRecord[] | null };
    return df.BuildCache ?? [];
  }
  // Over ssh:// a /grpc stream is a new login each time; the kept connection's /system/df is cheaper there.
  if (!grpcRefused.has(docker) && transportOf(docker).kind !== 'ssh') {
    try {
      return await diskUsageOverGrpc(docker);
    } catch {
      grpcRefused.add(docker); // an engine without /grpc: the whole /system/df from now on
    }
  }
  const df = (await docker.df()) as { BuildCache?: CacheRecord[] | null };
  return df.BuildCache ?? [];
}

const grpcRefused = new WeakSet<Docker>();

function apiAtLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = version.split('.').map(Number);
  return a > major || (a === major && b >= minor);
}

function getJson(docker: Docker, path: string, options: Record<string, string>): Promise<unknown> {
  return new Promise((resolve, reject) =>
    docker.modem.dial({ path, method: 'GET', options, statusCodes: { 200: true, 400: 'bad request', 500: 'server error' } }, (error: unknown, data: unknown) =>
      error ? reject(error) : resolve(data),
    ),
  );
}

/**
 * moby.buildkit.v1.Control/DiskUsage over `POST /grpc` (upgraded to h2c): one unary gRPC call on
 * node:http2, the messages read with protobufjs (UsageRecord: ID=1, Mutable=2, InUse=3, Size=4, Parent=5,
 * CreatedAt=6, LastUsedAt=7, UsageCount=8, Description=9, RecordType=10, Shared=11, Parents=12).
 */
async function diskUsageOverGrpc(docker: Docker, timeoutMs = 10_000): Promise<CacheRecord[]> {
  const [http2, { Reader }] = await Promise.all([import('node:http2'), import('protobufjs/minimal')]);
  const socket = await new Promise<Duplex>((resolve, reject) =>
    docker.modem.dial(
      {
        method: 'POST',
        path: '/grpc',
        hijack: true,
        headers: { Upgrade: 'h2c', Connection: 'Upgrade' },
        statusCodes: { 101: true, 404: 'no /grpc', 500: 'server error' },
      },
      (error: unknown, stream: unknown) => (error ? reject(error) : resolve(stream as Duplex)),
    ),
  );
  const client = http2.connect('http://docker', { createConnection: () => socket });
  try {
    const body = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DiskUsage answer within ${timeoutMs / 1000} s`)), timeoutMs);
      client.on('error', reject);
      const call = client.request({ ':method': 'POST', ':path': '/moby.buildkit.v1.Control/DiskUsage', 'content-type': 'application/grpc', te: 'trailers' });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      call.on('response', (headers) => (status = headers['grpc-status'] as string | undefined));
      call.on('trailers', (trailers) => (status = (trailers['grpc-status'] as string | undefined) ?? status));
      call.on('data', (chunk: Buffer) => chunks.push(chunk));
      call.on('error', reject);
      call.on('end', () => {
        clearTimeout(timer);
        if (status !== undefined && status !== '0') reject(new Error(`DiskUsage answered gRPC status ${status}`));
        else resolve(Buffer.concat(chunks));
      });
      call.end(Buffer.alloc(5)); // an empty DiskUsageRequest: not compressed, length 0
    });
    const records: CacheRecord[] = [];
    // One length-prefixed message: 1 byte compressed flag, 4 bytes length.
    const message = Reader.create(body.subarray(5, 5 + (body.length >= 5 ? body.readUInt32BE(1) : 0)));
    while (message.pos < message.len) {
      const tag = message.uint32();
      if (tag >>> 3 !== 1) {
        message.skipType(tag & 7);
        continue;
      }
      const entry = Reader.create(message.bytes());
      const record: CacheRecord = { ID: '' };
      while (entry.pos < entry.len) {
        const field = entry.uint32();
        switch (field >>> 3) {
          case 1:
            record.ID = entry.string();
            break;
          case 3:
            record.InUse = entry.bool();
            break;
          case 5:
            record.Parent = entry.string();
            break;
          case 6:
            record.CreatedAt = timestamp(Reader.create(entry.bytes()));
            break;
          case 7:
            record.LastUsedAt = timestamp(Reader.create(entry.bytes()));
            break;
          case 9:
            record.Description = entry.string();
            break;
          case 11:
            record.Shared = entry.bool();
            break;
          case 12: {
            const parent = entry.string();
            record.Parent ??= parent;
            break;
          }
          default:
            entry.skipType(field & 7);
        }
      }
      records.push(record);
    }
    return records;
  } finally {
    client.close();
    socket.destroy();
  }
}

/** google.protobuf.Timestamp (seconds=1, nanos=2) as RFC 3339. */
function timestamp(reader: { pos: number; len: number; uint32(): number; int64(): unknown; int32(): number; skipType(wire: number): unknown }): string {
  let seconds = 0;
  let nanos = 0;
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (tag >>> 3 === 1) seconds = Number(reader.int64());
    else if (tag >>> 3 === 2) nanos = reader.int32();
    else reader.skipType(tag & 7);
  }
  return new Date(seconds * 1000 + Math.floor(nanos / 1e6)).toISOString();
}

/** The records listed before a build: by id, with each one's last use (a copy the build reused has a new one). */
export type RecordsBefore = ReadonlySet<string> | ReadonlyMap<string, string | undefined>;

/** What a listing says before a build, for removeContextRecords. */
export function recordsBefore(records: readonly CacheRecord[]): Map<string, string | undefined> {
  return new Map(records.map((r) => [r.ID, r.LastUsedAt]));
}

/** A record that may be a streamed context's copy: a parentless `fileop target` no image shares. */
const mayBeCopy = (r: CacheRecord) => r.Description === 'fileop target' && !r.Parent && !r.Shared;

/**
 * The records among `records` that hold a streamed build context of a build that started after `before`
 * was listed: each download (`http url http://build-context-…`) and its copy. The copy (a parentless,
 * unshared `fileop target`) is made when the download has ended, which for a runtime build is the end of the
 * builder's whole run: any time after the download record was created (measured: 11.6 s for a context that
 * took 12 s to stream). It is used until the build ends and released with the download, so its last use is
 * the download's (measured: 2 ms apart), while another build's copy is released when that build ends. So:
 * among the copies made between the download's creation and its last use, the one last used closest to it;
 * while either is still held (no last use yet), the earliest made after the download.
 *
 * A copy is keyed by its content: a later build of the same context reuses it instead of making one (then it
 * was listed before, with an older last use). Such a reused copy is this build's too, so a copy a clean-up
 * once missed goes with the next build that uses it.
 */
export function contextRecords(records: readonly CacheRecord[], before: RecordsBefore): CacheRecord[] {
  const pairs = contextPairs(records, before);
  return [...pairs.map((p) => p.download), ...pairs.flatMap((p) => (p.copy ? [p.copy] : []))];
}

/** Each download made since `before`, with its copy when one is listed (see contextRecords). */
function contextPairs(records: readonly CacheRecord[], before: RecordsBefore): Array<{ download: CacheRecord; copy?: CacheRecord }> {
  const fresh = records.filter((r) => !before.has(r.ID));
  const downloads = fresh.filter((r) => CONTEXT_URL.test(r.Description ?? ''));
  const reused = (r: CacheRecord) => before instanceof Map && before.has(r.ID) && !!r.LastUsedAt && before.get(r.ID) !== r.LastUsedAt;
  const candidates = records.filter((r) => mayBeCopy(r) && (!before.has(r.ID) || reused(r)));
  const taken = new Set<string>();
  return downloads.map((download) => {
    const created = time(download.CreatedAt);
    const lastUsed = time(download.LastUsedAt);
    const ranked = candidates
      .filter((r) => !taken.has(r.ID))
      .map((r) => ({ r, made: time(r.CreatedAt) - created, used: time(r.LastUsedAt) }))
      // Made after the download (a reused copy was made by an earlier build: only its last use counts).
      .filter(({ made, r }) => reused(r) || (made >= -SAME_MOMENT_MS && (Number.isNaN(lastUsed) || time(r.CreatedAt) <= lastUsed + SAME_MOMENT_MS)))
      .map((c) => ({ ...c, distance: Number.isNaN(lastUsed) || Number.isNaN(c.used) ? Infinity : Math.abs(c.used - lastUsed) }))
      .filter(({ distance, r }) => (distance === Infinity && !reused(r)) || distance <= SAME_MOMENT_MS)
      .sort((a, b) => a.distance - b.distance || a.made - b.made);
    const copy = ranked[0]?.r;
    if (copy) taken.add(copy.ID);
    return { download, ...(copy ? { copy } : {}) };
  });
}

function time(value: string | undefined): number {
  return value ? Date.parse(value) : NaN;
}

/**
 * Removes the context records a build made since `before` (and a copy it reused). Records are paired once
 * the build has let go of them: while it holds one, BuildKit may still list a transient record in place of
 * the copy it is committing (measured: a held `fileop target` listed, the copy itself listed only 0.3 s
 * later, and the held one then gone), and the engine does not prune records in use. So: pair among the
 * records the build has let go of, and wait (up to `waitMs`) while a download is held, or while one has no
 * copy and a possible copy is held. A build that
 * failed early may have its context recorded just after it answered: look once more after `settleMs`.
 */
export async function removeContextRecords(
  docker: Docker,
  before: RecordsBefore,
  options: { waitMs?: number; settleMs?: number; list?: () => Promise<CacheRecord[]>; prune?: (id: string) => Promise<number> } = {},
): Promise<number> {
  // The engine's listing and prune, unless a test replays a listing.
  const list = options.list ?? (() => buildCacheRecords(docker));
  const prune = options.prune ?? ((id: string) => pruneRecord(docker, id));
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  let removed = 0;
  let settled = !options.settleMs;
  // Each look lists the build cache: a build lets go of its records within milliseconds of answering, so
  // look again soon, then less often (25 ms doubling to every second), for up to 10 s.
  let pause = 25;
  // Downloads seen, as last listed: one removed on an earlier look still pairs a copy listed later.
  const downloads = new Map<string, CacheRecord>();
  /** Downloads whose copy was found (and removed). */
  const paired = new Set<string>();
  for (;;) {
    const records = await list();
    const fresh = records.filter((r) => !before.has(r.ID));
    for (const r of fresh) if (CONTEXT_URL.test(r.Description ?? '')) downloads.set(r.ID, r);
    const listed = new Map(records.map((r) => [r.ID, r]));
    const unpaired = [...downloads.values()].filter((d) => !paired.has(d.ID));
    // Paired among what the build has let go of; removed downloads take part as last seen.
    const pairs = contextPairs([...unpaired, ...records.filter((r) => !downloads.has(r.ID) && !r.InUse)], before);
    const downloadHeld = fresh.some((r) => r.InUse && downloads.has(r.ID));
    // A download without a copy (a build that never read its context has none) while a possible copy is held.
    const copyHeld = pairs.some((p) => !p.copy) && fresh.some((r) => r.InUse && mayBeCopy(r));
    if ((downloadHeld || copyHeld) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause = Math.min(pause * 2, 1000);
      continue;
    }
    for (const { download, copy } of pairs) {
      if (copy) paired.add(download.ID);
      for (const record of copy ? [download, copy] : [download]) {
        const now = listed.get(record.ID);
        if (!now || now.InUse) continue;
        removed += (await prune(record.ID)) > 0 ? 1 : 0;
      }
    }
    if (settled) return removed;
    settled = true;
    await new Promise((resolve) => setTimeout(resolve, options.settleMs));
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
