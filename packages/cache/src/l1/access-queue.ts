/** Where a node sits in the W-TinyLFU: the admission window, or probation / protected of the main SLRU. */
export const WINDOW = 0;
export const PROBATION = 1;
export const PROTECTED = 2;

export class PolicyNode<V> {
  key: string;
  value: V;
  weight: number;
  hash: number;
  queue = WINDOW;
  prev: PolicyNode<V> | undefined = undefined;
  next: PolicyNode<V> | undefined = undefined;

  constructor(key: string, value: V, weight: number, hash: number) {
    this.key = key;
    this.value = value;
    this.weight = weight;
    this.hash = hash;
  }
}

/** An intrusive doubly linked LRU list: `head` is the most recently used end, `tail` the eviction end. */
export class AccessQueue<V> {
  head: PolicyNode<V> | undefined = undefined;
  tail: PolicyNode<V> | undefined = undefined;
  size = 0;

  pushFront(n: PolicyNode<V>): void {
    n.prev = undefined;
    n.next = this.head;
    if (this.head) this.head.prev = n;
    else this.tail = n;
    this.head = n;
    this.size++;
  }

  remove(n: PolicyNode<V>): void {
    if (n.prev) n.prev.next = n.next;
    else this.head = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    n.prev = undefined;
    n.next = undefined;
    this.size--;
  }

  moveToFront(n: PolicyNode<V>): void {
    if (this.head === n) return;
    // n has a prev (it is not the head).
    n.prev!.next = n.next;
    if (n.next) n.next.prev = n.prev;
    else this.tail = n.prev;
    n.prev = undefined;
    n.next = this.head;
    this.head!.prev = n;
    this.head = n;
  }

  clear(): void {
    this.head = undefined;
    this.tail = undefined;
    this.size = 0;
  }
}
