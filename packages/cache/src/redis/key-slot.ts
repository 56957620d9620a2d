/**
 * Redis Cluster hash slots (CRC16/XMODEM of the key, or of its `{hash tag}`, modulo 16384), to
 * split batch commands per slot: a multi-key command whose keys live in different slots is refused
 * with CROSSSLOT, even when both slots sit on the same master.
 */
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

const encoder = new TextEncoder();

export function keySlot(key: string): number {
  let part = key;
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) part = key.slice(open + 1, close);
  }
  const bytes = encoder.encode(part);
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) ^ TABLE[((crc >> 8) ^ b) & 0xff]!) & 0xffff;
  return crc & 16383;
}

/** Positions of `keys` grouped by slot, in input order within each group. */
export function groupBySlot(keys: readonly string[]): number[][] {
  const groups = new Map<number, number[]>();
  keys.forEach((k, i) => {
    const slot = keySlot(k);
    const g = groups.get(slot);
    if (g) g.push(i);
    else groups.set(slot, [i]);
  });
  return [...groups.values()];
}
