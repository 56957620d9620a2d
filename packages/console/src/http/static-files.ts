import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The page's own files only: no inline script or style, no other origin. */
const CSP =
  "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/**
 * Serves the files under `public/` (the page shell, its scripts and styles). Paths are matched
 * against a strict pattern: no `..`, no hidden files, only the known extensions.
 */
export async function serveStatic(publicDir: URL, path: string, res: ServerResponse): Promise<boolean> {
  const file = path === '/' ? 'index.html' : path.slice(1);
  const m = /^(?:[a-z0-9-]+\/)?[a-z0-9-]+(\.[a-z]+)$/.exec(file);
  const type = m ? TYPES[m[1] as string] : undefined;
  if (!type) return false;
  let body: Buffer;
  try {
    body = await readFile(new URL(file, publicDir));
  } catch {
    return false;
  }
  res.writeHead(200, {
    'content-type': type,
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-cache',
  });
  res.end(body);
  return true;
}
