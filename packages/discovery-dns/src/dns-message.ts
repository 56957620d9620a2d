import dns2 from 'dns2';

/** The DNS codec: dns2's `Packet` (name compression on encode, RFC 9267-hardened decode). */
export const Packet = dns2.Packet;
export type DnsPacket = InstanceType<typeof dns2.Packet>;

export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  AXFR: 252,
  ANY: 255,
} as const;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
export const CLASS_IN = 1;
export const HEADER_SIZE = 12;
/** DNS Flag Day 2020: the EDNS payload size that avoids IP fragmentation. */
export const DEFAULT_EDNS_SIZE = 1232;

/** One decoded resource record, as dns2 returns it (only the fields we use). */
export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  address?: string;
  priority?: number;
  weight?: number;
  port?: number;
  target?: string;
  domain?: string;
  data?: string[] | string;
  primary?: string;
  admin?: string;
  serial?: number;
  refresh?: number;
  retry?: number;
  expiration?: number;
  minimum?: number;
  rdata?: unknown[];
}

export interface DecodedMessage {
  id: number;
  qr: number;
  opcode: number;
  aa: number;
  tc: number;
  rd: number;
  ra: number;
  rcode: number;
  questions: { name: string; type: number; class: number }[];
  answers: DnsRecord[];
  authorities: DnsRecord[];
  additionals: DnsRecord[];
  /** Records dns2 could not decode (the message is still usable when this is empty). */
  errors: number;
}

/** Decodes a message; `undefined` when no header is readable. Never throws. */
export function decodeMessage(buffer: Buffer): DecodedMessage | undefined {
  if (buffer.length < HEADER_SIZE) return undefined;
  let p: DnsPacket;
  try {
    p = Packet.parse(buffer);
  } catch {
    return undefined;
  }
  const h = p.header as unknown as Record<string, number>;
  return {
    id: h.id ?? 0,
    qr: h.qr ?? 0,
    opcode: h.opcode ?? 0,
    aa: h.aa ?? 0,
    tc: h.tc ?? 0,
    rd: h.rd ?? 0,
    ra: h.ra ?? 0,
    rcode: h.rcode ?? 0,
    questions: p.questions as unknown as DecodedMessage['questions'],
    answers: p.answers as unknown as DnsRecord[],
    authorities: p.authorities as unknown as DnsRecord[],
    additionals: p.additionals as unknown as DnsRecord[],
    errors: p.errors.length,
  };
}

export interface MessageToEncode {
  id: number;
  flags: { qr?: number; aa?: number; tc?: number; rd?: number; ra?: number; opcode?: number };
  rcode: number;
  question?: { name: string; type: number; class: number } | undefined;
  answers?: readonly DnsRecord[];
  authorities?: readonly DnsRecord[];
  additionals?: readonly DnsRecord[];
  /** Adds an OPT record advertising this UDP payload size (RFC 6891). */
  edns?: number | undefined;
}

/** Encodes a message with name compression. Throws on an unencodable record (a bug, not input). */
export function encodeMessage(m: MessageToEncode): Buffer {
  const p = new Packet();
  Object.assign(p.header, {
    id: m.id,
    qr: m.flags.qr ?? 0,
    opcode: m.flags.opcode ?? 0,
    aa: m.flags.aa ?? 0,
    tc: m.flags.tc ?? 0,
    rd: m.flags.rd ?? 0,
    ra: m.flags.ra ?? 0,
    rcode: m.rcode,
  });
  if (m.question) p.questions.push(m.question as never);
  for (const r of m.answers ?? []) p.answers.push(r as never);
  for (const r of m.authorities ?? []) p.authorities.push(r as never);
  for (const r of m.additionals ?? []) p.additionals.push(r as never);
  if (m.edns !== undefined) {
    p.additionals.push(Packet.Resource.EDNS([], { udpPayloadSize: m.edns }) as never);
  }
  return p.toBuffer();
}

/**
 * Builds a query for `name`/`type` with the RD bit and an EDNS OPT record. Written by hand (a query
 * has one uncompressed name): dns2's bit-level writer costs more than the rest of a cached lookup.
 */
export function encodeQuery(id: number, name: string, type: number, edns: number): Buffer {
  const labels = name.split('.').filter((l) => l.length > 0);
  let nameLength = 1;
  for (const l of labels) {
    if (l.length > 63) throw new RangeError(`label "${l}" is longer than 63 octets`);
    nameLength += l.length + 1;
  }
  if (nameLength > 255) throw new RangeError(`name "${name}" is longer than 255 octets`);
  const buf = Buffer.alloc(12 + nameLength + 4 + 11);
  buf.writeUInt16BE(id, 0);
  buf[2] = 0x01; // RD
  buf.writeUInt16BE(1, 4); // QDCOUNT
  buf.writeUInt16BE(1, 10); // ARCOUNT: the OPT record
  let at = 12;
  for (const l of labels) {
    buf[at++] = l.length;
    at += buf.write(l, at, 'latin1');
  }
  buf[at++] = 0;
  buf.writeUInt16BE(type, at);
  buf.writeUInt16BE(CLASS_IN, at + 2);
  at += 4;
  // OPT: root owner, TYPE 41, CLASS = our payload size, TTL 0, RDLENGTH 0.
  buf[at] = 0;
  buf.writeUInt16BE(TYPE.OPT, at + 1);
  buf.writeUInt16BE(edns, at + 3);
  return buf;
}

/** Lower-case, no trailing dot: the form names are compared in. */
export function canonicalName(name: string): string {
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  return n.toLowerCase();
}
