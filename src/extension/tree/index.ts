export { PairsTree } from './pairs-tree';
export { PairDiscovery, discoverPairs } from './pair-discovery';
export type { EngineNode, ImageNode, LastBuildNode, PairNode, PairsTreeNode } from './nodes';
