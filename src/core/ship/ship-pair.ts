// Shipping a pair: its runtime image under every tag it ships as, pushed, its pull size read back from the
// registry, and the push recorded with the pair's build. The CLI and the extension both drive it.
import type { Engine } from '../engine';
import { messageOf } from '../errors';
import { addPairPush, pairKey } from '../history';
import { registryOf, type RegistryCredentials } from '../registry-auth';
import { engineIdOf, recordsDir as defaultRecordsDir } from '../up-to-date';
import { ShipError } from './errors';
import { pushableRefs, pushImage, refsToPush, tagImage, type PushEvent, type PushResult } from './push';
import { pushedManifest } from './registry-api';

export interface ShipPairOptions {
  /** The pair's folder and the tag it was built under (its history is kept under that tag). */
  pairDir: string;
  /** The pair's name, for messages (default: its folder). */
  pairName?: string;
  runtimeTag: string;
  /** Every reference to ship the runtime image as (default: the runtime tag alone); those it lacks are tagged first. */
  refs?: readonly string[];
  /** Also push the builder image (NAME-builder:TAG of each ref). */
  pushBuilder?: boolean;
  credentials?: RegistryCredentials;
  signal?: AbortSignal;
  onEvent?: (event: PushEvent) => void;
  /** Where builds are recorded (default: recordsDir()). */
  recordsDir?: string;
}

export interface ShippedRef extends PushResult {
  /** Compressed bytes a pull downloads, from the pushed manifest (undefined when the registry could not be read from here). */
  pullSize?: number;
  /** Why pullSize is missing. */
  pullSizeUnknown?: string;
  role: 'runtime' | 'builder';
}

export interface ShipPairResult {
  /** The runtime image pushed (its id). */
  runtimeId: string;
  /** Each reference pushed, runtime images first. */
  pushed: ShippedRef[];
  /** The first runtime push: what the pair is shipped as. */
  main: ShippedRef;
  /** A recording that failed (the push itself succeeded). */
  recordProblem?: string;
  /** Tags that name no registry: given to the image on the engine, not pushed (pushableRefs). */
  notPushed: string[];
}

/**
 * Pushes a pair's runtime image (and its builder only when asked) under every ref, one at a time, then
 * reads each pushed manifest back from the registry (the same credentials) for the pull size, and records
 * each runtime push with the pair's builds. The first failure stops it, as a ShipError.
 */
export async function shipPair(engine: Engine, options: ShipPairOptions): Promise<ShipPairResult> {
  const allRefs = options.refs && options.refs.length > 0 ? [...options.refs] : [options.runtimeTag];
  // Refused before anything is asked of the engine when no tag names a registry.
  const { push: runtimeRefs, local: notPushed } = pushableRefs(allRefs, options.pairName ?? options.pairDir);
  let runtimeId: string;
  try {
    runtimeId = (await engine.docker.getImage(options.runtimeTag).inspect()).Id;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) {
      throw new ShipError('NO_IMAGE', `The engine has no image tagged ${options.runtimeTag}: build the pair first ('dockerception build'), then push it.`);
    }
    throw new ShipError('PUSH_FAILED', `The engine could not be asked for ${options.runtimeTag} (${messageOf(error)}).`, { cause: error });
  }
  // The engine's id names the pair's history. GET /info (and /version) take 20-60 ms and hold up the requests
  // sent beside them, so they are asked once the first push has started, and are there when the pushes end.
  let engineId: Promise<string> | undefined;
  const askEngineId = () => {
    if (!engineId) {
      engineId = engineIdOf(engine.docker);
      engineId.catch(() => undefined);
    }
    return engineId;
  };
  const onEvent: typeof options.onEvent = (event) => {
    if (event.kind === 'start') askEngineId();
    options.onEvent?.(event);
  };
  const extra = allRefs.filter((ref) => ref !== options.runtimeTag);
  if (extra.length > 0) await tagImage(engine, options.runtimeTag, extra);
  const refs = refsToPush(runtimeRefs, { pushBuilder: options.pushBuilder });
  const builderRefs = new Set(refs.slice(runtimeRefs.length));
  const pushed: ShippedRef[] = [];
  for (const ref of refs) {
    const role = builderRefs.has(ref) ? 'builder' : 'runtime';
    const result = await pushImage(engine, ref, { signal: options.signal, onEvent, credentials: options.credentials });
    let pullSize: number | undefined;
    let pullSizeUnknown: string | undefined;
    try {
      const auth = await options.credentials?.get(registryOf(ref));
      const manifest = await pushedManifest(result.canonical, { credentials: auth, signal: options.signal });
      pullSize = manifest.pullSize;
    } catch (error) {
      pullSizeUnknown = `the registry ${registryOf(ref)} could not be read from this machine (${messageOf(error)})`;
    }
    pushed.push({ ...result, role, pullSize, pullSizeUnknown });
  }
  const main = pushed[0];
  let recordProblem: string | undefined;
  try {
    const key = pairKey(await askEngineId(), options.pairDir, options.runtimeTag);
    const records = options.recordsDir ?? defaultRecordsDir();
    const pushedAt = new Date().toISOString();
    for (const p of pushed.filter((x) => x.role === 'runtime')) {
      await addPairPush(records, key, { runtimeId, ref: p.ref, digest: p.digest, canonical: p.canonical, pullSize: p.pullSize, pushedAt });
    }
  } catch (error) {
    recordProblem = `The push was not recorded with the build (${messageOf(error)}); the image is in the registry all the same.`;
  }
  return { runtimeId, pushed, main, recordProblem, notPushed };
}
