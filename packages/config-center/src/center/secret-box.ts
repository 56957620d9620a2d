import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { invalidArgument, SwitchyardError } from '@switchyard/core';

const PKG = 'config-center';
const VERSION = 'v1';

/** Keys by id (32 bytes each, as a Buffer or base64) and the id new values are sealed with. */
export interface Keyring {
  keys: Record<string, Uint8Array | string>;
  /** The key id that seals new values (older ids stay readable: rotation without downtime). */
  primary: string;
}

/** A sealed value as stored: `{ "$secret": "v1:<keyId>:<iv>:<tag>:<ciphertext>" }` (base64). */
export interface SealedValue {
  $secret: string;
}

export function isSealed(value: unknown): value is SealedValue {
  return typeof value === 'object' && value !== null && typeof (value as SealedValue).$secret === 'string';
}

/**
 * AES-256-GCM for secret config values: a fresh 96-bit nonce per value, the key id stored with the
 * value, and the value's location (app/env/namespace/key) as additional data so a ciphertext
 * cannot be moved to another key.
 */
export class SecretBox {
  readonly #keys = new Map<string, Buffer>();
  readonly primary: string;

  constructor(keyring: Keyring) {
    if (typeof keyring !== 'object' || keyring === null)
      throw invalidArgument(PKG, 'keyring', 'must be an object');
    for (const [id, raw] of Object.entries(keyring.keys ?? {})) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id))
        throw invalidArgument(PKG, `keyring.keys.${id}`, 'id must match [A-Za-z0-9_-]{1,64}');
      const key = typeof raw === 'string' ? Buffer.from(raw, 'base64') : Buffer.from(raw);
      if (key.length !== 32)
        throw invalidArgument(PKG, `keyring.keys.${id}`, `must be 32 bytes, got ${key.length}`);
      this.#keys.set(id, key);
    }
    if (!this.#keys.has(keyring.primary)) {
      throw invalidArgument(
        PKG,
        'keyring.primary',
        `names no key in keyring.keys (${[...this.#keys.keys()].join(', ')})`,
      );
    }
    this.primary = keyring.primary;
  }

  seal(plaintext: unknown, location: string): SealedValue {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#keys.get(this.primary)!, iv);
    cipher.setAAD(Buffer.from(location));
    const ct = Buffer.concat([cipher.update(JSON.stringify(plaintext), 'utf8'), cipher.final()]);
    const parts = [
      VERSION,
      this.primary,
      iv.toString('base64'),
      cipher.getAuthTag().toString('base64'),
      ct.toString('base64'),
    ];
    return { $secret: parts.join(':') };
  }

  open(sealed: SealedValue, location: string): unknown {
    const [version, keyId, iv, tag, ct] = sealed.$secret.split(':');
    const key = keyId === undefined ? undefined : this.#keys.get(keyId);
    if (version !== VERSION || !key || iv === undefined || tag === undefined || ct === undefined) {
      throw new SwitchyardError(
        'INVALID_ARGUMENT',
        `[${PKG}] ${location}: sealed with unknown key "${keyId}"`,
        {
          field: location,
        },
      );
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAAD(Buffer.from(location));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      const pt = Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]);
      return JSON.parse(pt.toString('utf8'));
    } catch (cause) {
      throw new SwitchyardError(
        'INVALID_ARGUMENT',
        `[${PKG}] ${location}: secret does not decrypt (tampered or wrong key)`,
        {
          field: location,
          cause,
        },
      );
    }
  }

  /** The key id a sealed value was written with. */
  static keyIdOf(sealed: SealedValue): string {
    return sealed.$secret.split(':')[1] ?? '';
  }
}
