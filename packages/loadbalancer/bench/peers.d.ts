declare module 'hashring' {
  export default class HashRing {
    constructor(
      servers: string[] | Record<string, unknown>,
      algorithm?: string,
      options?: Record<string, unknown>,
    );
    get(key: string): string;
  }
}
declare module 'consistent-hash' {
  export default class ConsistentHash {
    constructor(options?: { range?: number; weight?: number; distribution?: 'random' | 'uniform' });
    add(node: string, weight?: number): this;
    remove(node: string): this;
    get(key: string): string;
  }
}
