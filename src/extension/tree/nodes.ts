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
