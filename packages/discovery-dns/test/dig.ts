import { execFile } from 'node:child_process';

/** Runs the real `dig` against a server and returns its output. */
export function dig(port: number, args: string[], host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'dig',
      [`@${host}`, '-p', String(port), '+time=2', '+tries=1', ...args],
      { timeout: 10_000 },
      (e, out) => (e && !out ? reject(e) : resolve(out)),
    );
  });
}

/** `dig +short`: one line per record. */
export async function short(port: number, name: string, type = 'A', extra: string[] = []): Promise<string[]> {
  const out = await dig(port, [name, type, '+short', ...extra]);
  return out
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith(';'));
}

/** The header status and flags of a `dig` answer. */
export function header(out: string): { status: string; flags: string[] } {
  const status = /status: (\w+)/.exec(out)?.[1] ?? '';
  const flags = (/flags: ([a-z ]+);/.exec(out)?.[1] ?? '').trim().split(/\s+/);
  return { status, flags };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function eventually(f: () => Promise<boolean> | boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    if (await f()) return;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}
