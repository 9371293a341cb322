export * from './address';
export * from './options';
export * from './ssh-dial';
export * from './connect';
