// Build All: every pair of a workspace, in dependency order, several at once.
export * from './plan';
export * from './run';
export * from './select';
export * from './table';
export * from './engines';
