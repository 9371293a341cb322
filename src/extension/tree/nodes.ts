// What the Pairs view shows, as data: the provider maps each node to a TreeItem when VS Code asks, from
// the state of that moment, so one pair's node can be refreshed alone.
import type { ImageSize, Pair } from '../../core';

export interface PairNode {
  kind: 'pair';
  pair: Pair;
}

export interface ImageNode {
  kind: 'image';
  pair: Pair;
  role: 'builder' | 'runtime';
}

export interface LastBuildNode {
  kind: 'last';
  pair: Pair;
}

/** The engine could not be reached: shown above the pairs, with Retry and Open Setting. */
export interface EngineNode {
  kind: 'engine';
  message: string;
}

export type PairsTreeNode = PairNode | ImageNode | LastBuildNode | EngineNode;

/** A pair's runtime image as this window pushed it: the row shows the pull size, the tooltip the digest. */
export interface PushedImage {
  /** The image pushed: shown only while the pair's runtime tag still names it. */
  runtimeId: string;
  ref: string;
  digest: string;
  /** name@sha256:… */
  canonical: string;
  /** What a pull downloads (the pushed manifest's layers and config); undefined when the registry could not be read. */
  pullSize?: number;
  at: string;
}

const pushedImages = new Map<string, PushedImage>();

/** The last push of the pair in `dir` (this window's), whatever image its tag names now. */
export function pushedImageOf(dir: string): PushedImage | undefined {
  return pushedImages.get(dir);
}

const pushedListeners = new Set<(dir: string) => void>();

export function setPushedImage(dir: string, pushed: PushedImage): void {
  pushedImages.set(dir, pushed);
  for (const listener of pushedListeners) listener(dir);
}

/** Calls `listener` with the pair's folder whenever a push of it becomes known; returns the unsubscribe. */
export function onPushedImage(listener: (dir: string) => void): () => void {
  pushedListeners.add(listener);
  return () => pushedListeners.delete(listener);
}

/** The engine as the Pairs view last found it: reachable, or not since the last refresh (`lastSeen`: when it last answered). */
export interface EngineState {
  reachable: boolean;
  /** When the engine last answered a look-up of the pairs' images (ms since the epoch); undefined when never in this window. */
  lastSeen?: number;
}

let engineState: EngineState = { reachable: true };
const knownImages = new Map<string, { builder: ImageSize | undefined; runtime: ImageSize | undefined }>();
const engineListeners = new Set<(state: EngineState) => void>();

/** What the Pairs view last found of the engine (reachable until a look-up says otherwise). */
export function engineStateNow(): EngineState {
  return engineState;
}

/** The pair's images as the engine last reported them (kept while the engine is away). */
export function knownImagesOf(dir: string): { builder: ImageSize | undefined; runtime: ImageSize | undefined } | undefined {
  return knownImages.get(dir);
}

/** Records what a look-up found: the images seen (when the engine answered) and whether it answered. */
export function setEngineState(state: EngineState, images?: ReadonlyMap<string, { builder: ImageSize | undefined; runtime: ImageSize | undefined }>): void {
  if (images) for (const [dir, seen] of images) knownImages.set(dir, seen);
  const changed = state.reachable !== engineState.reachable;
  engineState = state;
  if (changed) for (const listener of engineListeners) listener(state);
}

/** Forgets the images seen: they belonged to an engine no longer chosen. */
export function forgetKnownImages(): void {
  knownImages.clear();
}

/** Calls `listener` when the engine becomes unreachable or reachable again; returns the unsubscribe. */
export function onEngineState(listener: (state: EngineState) => void): () => void {
  engineListeners.add(listener);
  return () => engineListeners.delete(listener);
}

/**
 * An image reference as the engine names it: a name without a tag or digest is `name:latest` (what
 * `docker images` and `docker image inspect`'s RepoTags say), so builder and runtime tags read alike.
 */
export function shownTag(ref: string): string {
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return last.includes(':') || last.includes('@') ? ref : `${ref}:latest`;
}
