// What the Pairs view shows, as data: the provider maps each node to a TreeItem when VS Code asks, from
// the state of that moment, so one pair's node can be refreshed alone.
import type { Pair } from '../../core';

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
