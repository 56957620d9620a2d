// redlock 5.0.0-beta.2 ships types that do not resolve under "exports" (node-redlock #173, #290).
declare module 'redlock' {
  import type { EventEmitter } from 'node:events';
  import type { Redis } from 'ioredis';
  export interface RedlockLock {
    release(): Promise<unknown>;
  }
  export default class Redlock extends EventEmitter {
    constructor(clients: Iterable<Redis>, settings?: Record<string, number>);
    acquire(resources: string[], duration: number): Promise<RedlockLock>;
  }
}
