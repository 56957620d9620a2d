import { invalidArgument } from '@switchyard/core';
import type { PayloadCompression } from './compression.js';
import { NO_TAGS, type StoredEntry } from './entry.js';
import { MISSING } from './missing.js';
import type { Serializer } from './serializer.js';

const NEGATIVE = 1;
const UNDEFINED = 2;

/**
 * The stored form of an entry: a header and the serialised value,
 * `1|createdAt|freshUntil|staleUntil|delta|flags|tags|payload` (empty time = never; flags: 1
 * negative, 2 `undefined`, 4/8/16 compressed). The header is read with `indexOf`, so the
 * payload is parsed by the serializer only, once.
 */
export class EntryCodec {
  readonly #serializer: Serializer;
  readonly #compression: PayloadCompression;

  constructor(serializer: Serializer, compression: PayloadCompression) {
    this.#serializer = serializer;
    this.#compression = compression;
  }

  /** The serialised value (what is measured for the L1 weight). */
  payload(value: unknown): string {
    if (value === MISSING || value === undefined) return '';
    const text = this.#serializer.serialize(value);
    if (typeof text !== 'string')
      throw invalidArgument('cache', 'serializer', `must return a string, returned ${typeof text}`);
    return text;
  }

  encode(e: StoredEntry, payload: string): string {
    let flags = 0;
    let body = payload;
    if (e.value === MISSING) flags = NEGATIVE;
    else if (e.value === undefined) flags = UNDEFINED;
    else {
      const packed = this.#compression.pack(payload);
      flags = packed.flag;
      body = packed.text;
    }
    return `1|${e.createdAt}|${time(e.freshUntil)}|${time(e.staleUntil)}|${e.delta}|${flags}|${e.tagsKey}|${body}`;
  }

  /** The entry, or `undefined` for text that is not an entry of ours (treated as a miss). */
  decode(text: string): StoredEntry | undefined {
    if (!text.startsWith('1|')) return undefined;
    const f: number[] = [];
    let at = 2;
    for (let i = 0; i < 6; i++) {
      const bar = text.indexOf('|', at);
      if (bar < 0) return undefined;
      f.push(at);
      at = bar + 1;
    }
    const field = (i: number) => text.slice(f[i]!, (f[i + 1] ?? at) - 1);
    const createdAt = Number(field(0));
    const freshUntil = parseTime(field(1));
    const staleUntil = parseTime(field(2));
    const delta = Number(field(3));
    const flags = Number(field(4));
    const tagsKey = field(5);
    if ([createdAt, freshUntil, staleUntil, delta, flags].some(Number.isNaN)) return undefined;
    const body = text.slice(at);
    let value: unknown;
    if (flags & NEGATIVE) value = MISSING;
    else if (flags & UNDEFINED) value = undefined;
    else {
      try {
        value = this.#serializer.deserialize(this.#compression.unpack(body, flags));
      } catch {
        return undefined;
      }
    }
    return {
      value,
      createdAt,
      freshUntil,
      staleUntil,
      delta,
      tags: tagsKey === '' ? NO_TAGS : tagsKey.split(','),
      tagsKey,
      size: body.length,
    };
  }
}

const time = (t: number) => (Number.isFinite(t) ? String(Math.round(t)) : '');
const parseTime = (s: string) => (s === '' ? Number.POSITIVE_INFINITY : Number(s));
