import * as zlib from 'node:zlib';
import { unsupportedError } from '@switchyard/core';
import type { CompressionOptions } from './types.js';

/** Flag bits of the entry header recording how the payload was compressed. */
export const COMPRESSED_FLAGS = { brotli: 4, gzip: 8, zstd: 16 } as const;
const ANY_COMPRESSED = 4 | 8 | 16;

type Sync = (buffer: Buffer) => Buffer;
interface Codec {
  compress: Sync;
  decompress: Sync;
}

function zstd(): Codec | undefined {
  const z = zlib as unknown as { zstdCompressSync?: Sync; zstdDecompressSync?: Sync };
  return z.zstdCompressSync && z.zstdDecompressSync
    ? { compress: z.zstdCompressSync, decompress: z.zstdDecompressSync }
    : undefined;
}

const CODECS: Record<keyof typeof COMPRESSED_FLAGS, () => Codec | undefined> = {
  brotli: () => ({
    compress: (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } }),
    decompress: (b) => zlib.brotliDecompressSync(b),
  }),
  gzip: () => ({ compress: (b) => zlib.gzipSync(b, { level: 6 }), decompress: (b) => zlib.gunzipSync(b) }),
  zstd,
};

/**
 * Optional compression of serialised payloads above a size threshold (base64 in the stored
 * string, since stores hold strings). Reading understands every algorithm, whatever this cache
 * writes, so the setting can change without flushing the stores. Synchronous zlib: it runs on the
 * event loop, which is cheap for the KB-sized values caches hold and not meant for MB-sized ones.
 */
export class PayloadCompression {
  readonly #write: { flag: number; codec: Codec } | undefined;
  readonly #threshold: number;

  constructor(pkg: string, options: CompressionOptions | false) {
    if (options === false) {
      this.#write = undefined;
      this.#threshold = Number.POSITIVE_INFINITY;
      return;
    }
    const codec = CODECS[options.algorithm]();
    if (!codec)
      throw unsupportedError(
        pkg,
        'compression.algorithm "zstd"',
        'this Node.js has no zlib zstd (needs >= 22.15)',
      );
    this.#write = { flag: COMPRESSED_FLAGS[options.algorithm], codec };
    this.#threshold = options.threshold ?? 1024;
  }

  /** The payload to store and its flag bits (0 when left as is). */
  pack(text: string): { text: string; flag: number } {
    if (!this.#write || text.length < this.#threshold) return { text, flag: 0 };
    const packed = this.#write.codec.compress(Buffer.from(text, 'utf8')).toString('base64');
    return packed.length < text.length ? { text: packed, flag: this.#write.flag } : { text, flag: 0 };
  }

  unpack(text: string, flags: number): string {
    if ((flags & ANY_COMPRESSED) === 0) return text;
    const name = flags & 4 ? 'brotli' : flags & 8 ? 'gzip' : 'zstd';
    const codec = CODECS[name]();
    if (!codec)
      throw unsupportedError('cache', `reading a ${name}-compressed entry`, 'no zstd in this Node.js');
    return codec.decompress(Buffer.from(text, 'base64')).toString('utf8');
  }
}
