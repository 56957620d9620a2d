/**
 * A minimal MaxMind DB (format 2.0) writer for tests: IPv4 tree, 32-bit records, maps of strings
 * and maps. Enough to build a small GeoIP-style database without downloading one.
 */
type Value = string | number | { [k: string]: Value };

function ctrl(type: number, size: number): Buffer {
  const head = (t: number, s: number) => (t <= 7 ? [(t << 5) | s] : [s, t - 7]);
  if (size < 29) return Buffer.from(head(type, size));
  if (size < 285) return Buffer.from([...head(type, 29), size - 29]);
  const s = size - 285;
  return Buffer.from([...head(type, 30), s >> 8, s & 0xff]);
}

function encode(v: Value): Buffer {
  if (typeof v === 'string') {
    const b = Buffer.from(v, 'utf8');
    return Buffer.concat([ctrl(2, b.length), b]);
  }
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error('only uint32 numbers');
    const bytes: number[] = [];
    for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
    return Buffer.concat([ctrl(6, bytes.length), Buffer.from(bytes)]);
  }
  const parts: Buffer[] = [ctrl(7, Object.keys(v).length)];
  for (const [k, x] of Object.entries(v)) parts.push(encode(k), encode(x));
  return Buffer.concat(parts);
}

function encodeUint(type: 5 | 6 | 9, v: number): Buffer {
  const bytes: number[] = [];
  for (let x = v; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  return Buffer.concat([ctrl(type, bytes.length), Buffer.from(bytes)]);
}

interface Node {
  kids: [Node | number | undefined, Node | number | undefined];
}

/** `networks`: CIDR (`10.1.0.0/16`) → record. Later, more specific networks must not overlap earlier ones partially. */
export function buildMmdb(
  networks: Record<string, Record<string, Value>>,
  databaseType = 'Switchyard-Test-Geo',
): Buffer {
  const data: Buffer[] = [];
  let dataLen = 0;
  const root: Node = { kids: [undefined, undefined] };
  for (const [cidr, record] of Object.entries(networks)) {
    const [ip, len] = cidr.split('/') as [string, string];
    const bits = ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
    const offset = dataLen;
    const enc = encode(record);
    data.push(enc);
    dataLen += enc.length;
    let node = root;
    const prefix = Number(len);
    for (let i = 0; i < prefix; i++) {
      const bit = Math.floor(bits / 2 ** (31 - i)) % 2;
      if (i === prefix - 1) {
        node.kids[bit] = offset;
        break;
      }
      let next = node.kids[bit];
      if (typeof next !== 'object') {
        next = { kids: [next, next] } as Node;
        node.kids[bit] = next;
      }
      node = next;
    }
  }
  const order: Node[] = [];
  const index = new Map<Node, number>();
  const queue = [root];
  while (queue.length) {
    const n = queue.shift()!;
    index.set(n, order.length);
    order.push(n);
    for (const k of n.kids) if (typeof k === 'object') queue.push(k);
  }
  const count = order.length;
  const tree = Buffer.alloc(count * 8);
  order.forEach((n, i) => {
    n.kids.forEach((k, side) => {
      const value = k === undefined ? count : typeof k === 'number' ? count + 16 + k : index.get(k)!;
      tree.writeUInt32BE(value, i * 8 + side * 4);
    });
  });
  const meta = Buffer.concat([
    ctrl(7, 9),
    encode('node_count'),
    encodeUint(6, count),
    encode('record_size'),
    encodeUint(5, 32),
    encode('ip_version'),
    encodeUint(5, 4),
    encode('database_type'),
    encode(databaseType),
    encode('languages'),
    Buffer.concat([ctrl(11, 1), encode('en')]),
    encode('binary_format_major_version'),
    encodeUint(5, 2),
    encode('binary_format_minor_version'),
    encodeUint(5, 0),
    encode('build_epoch'),
    encodeUint(9, Math.floor(Date.now() / 1000)),
    encode('description'),
    encode({ en: 'test database' }),
  ]);
  return Buffer.concat([
    tree,
    Buffer.alloc(16),
    ...data,
    Buffer.from('\xab\xcd\xefMaxMind.com', 'latin1'),
    meta,
  ]);
}
