import { TYPE } from '../dns-message.js';

/** The parts of a query the server needs. */
export interface QueryShape {
  id: number;
  rd: number;
  /** Canonical name (lower case, no trailing dot). */
  name: string;
  type: number;
  class: number;
  /** Octets of the question name on the wire (for `patchCached`). */
  nameLength: number;
  /** The requester's EDNS UDP payload size, when it sent an OPT record. */
  ednsSize: number | undefined;
}

/**
 * Reads the common query shape without a general decoder: a header with QR=0 and OPCODE=0, one
 * question with an uncompressed name of plain labels, no answer or authority records, at most an
 * OPT record, and nothing after it. Every offset is checked against the length (RFC 9267).
 * Anything else returns `undefined` and goes to the full decoder.
 */
export function readQuery(buf: Buffer): QueryShape | undefined {
  const len = buf.length;
  if (len < 17 || len > 512 + 64) return undefined;
  const flags = buf[2] as number;
  if ((flags & 0xf8) !== 0) return undefined; // QR=1 or an OPCODE other than QUERY
  if (buf.readUInt16BE(4) !== 1 || buf.readUInt16BE(6) !== 0 || buf.readUInt16BE(8) !== 0) return undefined;
  const ar = buf.readUInt16BE(10);
  if (ar > 1) return undefined;
  let at = 12;
  let name = '';
  for (;;) {
    if (at >= len) return undefined;
    const l = buf[at] as number;
    if (l === 0) break;
    if (l > 63 || at + 1 + l > len) return undefined;
    if (name.length > 0) name += '.';
    for (let i = at + 1; i <= at + l; i++) {
      let c = buf[i] as number;
      // A dot or a control/non-ASCII octet inside a label: leave it to the full decoder.
      if (c <= 0x20 || c === 0x2e || c >= 0x7f) return undefined;
      if (c >= 0x41 && c <= 0x5a) c += 0x20;
      name += String.fromCharCode(c);
    }
    at += l + 1;
    if (at - 12 > 255) return undefined;
  }
  const nameLength = at + 1 - 12;
  at += 1;
  if (at + 4 > len) return undefined;
  const type = buf.readUInt16BE(at);
  const cls = buf.readUInt16BE(at + 2);
  at += 4;
  let ednsSize: number | undefined;
  if (ar === 1) {
    // OPT: root owner, TYPE 41, CLASS = payload size, TTL, RDLENGTH, RDATA to the end.
    if (at + 11 > len || buf[at] !== 0 || buf.readUInt16BE(at + 1) !== TYPE.OPT) return undefined;
    ednsSize = buf.readUInt16BE(at + 3);
    const rdlength = buf.readUInt16BE(at + 9);
    at += 11 + rdlength;
  }
  if (at !== len) return undefined;
  return { id: buf.readUInt16BE(0), rd: flags & 0x01, name, type, class: cls, nameLength, ednsSize };
}
