export * from './apps.js';
export * from './bookinfo.js';
export * from './environments.js';
export * from './payments.js';
export * from './payments-environments.js';
export * from './shop.js';
