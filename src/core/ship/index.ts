export * from './errors';
export * from './tags';
export * from './push';
export * from './registry-api';
export * from './estimate';
export * from './ship-pair';
