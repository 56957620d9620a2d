import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Which Debian package provides each server binary we start. */
export const APT_PACKAGES = {
  'redis-server': 'redis-server',
  etcd: 'etcd-server',
  dnsmasq: 'dnsmasq-base',
  dig: 'dnsutils',
} as const;

export type ServerBinary = keyof typeof APT_PACKAGES;

export class MissingServerBinaryError extends Error {
  constructor(readonly binary: ServerBinary) {
    super(
      `[testkit] "${binary}" is not installed. Install it with: apt-get install -y ${APT_PACKAGES[binary]} ` +
        `(or run "pnpm test", which installs the servers when run as root). Tests that need a real server fail rather than skip.`,
    );
    this.name = 'MissingServerBinaryError';
  }
}

/** Absolute path of a server binary, searching PATH plus the sbin directories; throws with the apt package to install. */
export function findBinary(binary: ServerBinary): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, binary);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new MissingServerBinaryError(binary);
}

export function hasBinary(binary: ServerBinary): boolean {
  try {
    findBinary(binary);
    return true;
  } catch {
    return false;
  }
}
