// The core the CLI and the extension share. Plain Node: nothing here may import 'vscode'.
export * from './errors';
export * from './pairs';
export * from './engine';
export * from './context';
export * from './tar-gate';
export * from './builder-choice';
export * from './image-build';
export * from './pipeline';
export * from './builder-run';
export * from './up-to-date';
export * from './cleanup';
export * from './sizes';
export * from './inspect';
export * from './doctor';
export * from './history';
export * from './registry-auth';
export * from './ship';
