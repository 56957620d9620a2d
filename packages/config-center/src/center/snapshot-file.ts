import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConfigEntry } from '@switchyard/core';

/** The last good release documents of one namespace, as the store had them (secrets stay sealed). */
export interface NamespaceSnapshot {
  app: string;
  env: string;
  namespace: string;
  writtenAt: number;
  entries: ConfigEntry[];
}

export function snapshotPath(dir: string, app: string, env: string, namespace: string): string {
  return join(dir, `${app}.${env}.${namespace}.json`);
}

/** Written to a temporary file and renamed over the old one: a crash never leaves half a snapshot. */
export async function writeSnapshot(dir: string, snapshot: NamespaceSnapshot): Promise<void> {
  await mkdir(dir, { recursive: true });
  const path = snapshotPath(dir, snapshot.app, snapshot.env, snapshot.namespace);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(snapshot), { mode: 0o600 });
  await rename(tmp, path);
}

export async function readSnapshot(
  dir: string,
  app: string,
  env: string,
  namespace: string,
): Promise<NamespaceSnapshot | undefined> {
  try {
    const s = JSON.parse(await readFile(snapshotPath(dir, app, env, namespace), 'utf8')) as NamespaceSnapshot;
    return Array.isArray(s.entries) ? s : undefined;
  } catch {
    return undefined;
  }
}
