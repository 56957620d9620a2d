import { type DnsRecord, encodeMessage, HEADER_SIZE } from '../dns-message.js';

export interface ResponseParts {
  rcode: number;
  aa: boolean;
  ra: boolean;
  answers: readonly DnsRecord[];
  authorities: readonly DnsRecord[];
  additionals: readonly DnsRecord[];
}

export interface RequestShape {
  id: number;
  rd: number;
  question: { name: string; type: number; class: number };
  /** Our EDNS size when the request had an OPT record (RFC 6891: answer with OPT only then). */
  edns: number | undefined;
}

/**
 * Encodes a response within `limit` octets. Too big: first the additional section goes (no TC: it
 * is optional data, RFC 2181 §9); still too big: TC=1 with the question only, so the client retries
 * over TCP instead of caching a partial RRset.
 */
export function writeResponse(
  req: RequestShape,
  res: ResponseParts,
  limit: number,
): { buffer: Buffer; truncated: boolean } {
  const flags = { qr: 1, aa: res.aa ? 1 : 0, rd: req.rd, ra: res.ra ? 1 : 0 };
  const base = { id: req.id, flags, rcode: res.rcode, question: req.question, edns: req.edns };
  const full = encodeMessage({
    ...base,
    answers: res.answers,
    authorities: res.authorities,
    additionals: res.additionals,
  });
  if (full.length <= limit) return { buffer: full, truncated: false };
  const lean = encodeMessage({ ...base, answers: res.answers, authorities: res.authorities });
  if (lean.length <= limit) return { buffer: lean, truncated: false };
  return { buffer: encodeMessage({ ...base, flags: { ...flags, tc: 1 } }), truncated: true };
}

/** A bare error reply (FORMERR, NOTIMP, REFUSED) echoing the id and, when readable, the question. */
export function writeError(
  id: number,
  rd: number,
  rcode: number,
  question?: RequestShape['question'],
): Buffer {
  return encodeMessage({ id, flags: { qr: 1, rd }, rcode, question });
}

/** Octets of the question name at offset 12 of an uncompressed query; -1 when malformed. */
export function questionNameLength(query: Buffer): number {
  let at = HEADER_SIZE;
  for (let hops = 0; hops < 128; hops++) {
    if (at >= query.length) return -1;
    const len = query[at] as number;
    if (len === 0) return at + 1 - HEADER_SIZE;
    if (len > 63) return -1;
    at += len + 1;
  }
  return -1;
}

/**
 * Re-targets a cached response at a new query: its id, its RD bit and its question name bytes
 * (so the 0x20 case pattern of the query is echoed, RFC 5452 §9.3). Same name, same length.
 */
export function patchCached(cached: Buffer, query: Buffer, nameLength: number): Buffer {
  const out = Buffer.from(cached);
  out[0] = query[0] as number;
  out[1] = query[1] as number;
  out[2] = ((out[2] as number) & 0xfe) | ((query[2] as number) & 0x01);
  query.copy(out, HEADER_SIZE, HEADER_SIZE, HEADER_SIZE + nameLength);
  return out;
}
