import type { ConfigAdmin } from '@switchyard/config-center';
import type { ConsoleRoute } from '../../console-module.js';
import { badRequest } from '../../http/http-error.js';
import { intOf, MASK, name } from './config-input.js';

export interface SearchMatch {
  env: string;
  cluster: string;
  namespace: string;
  revision: number;
  item: string;
  /** The live value (a secret stays `******` and is never matched by value). */
  value: unknown;
  /** Whether the key or the value matched. */
  on: 'key' | 'value';
}

/** At most this many namespaces are read per search (each is one store read). */
export const SEARCH_SCAN_LIMIT = 500;

/**
 * `GET /api/config/search?q=&env=&limit=`: live items whose key or JSON value contains `q`
 * (case-insensitive) across namespaces, the search Apollo users asked for for years. Secrets are
 * masked before matching, so a search cannot probe them.
 */
export function configSearchRoute(admin: ConfigAdmin): ConsoleRoute {
  return {
    method: 'GET',
    pattern: '/api/config/search',
    async handle(req) {
      const q = (req.query.get('q') ?? '').trim().toLowerCase();
      if (q.length < 2 || q.length > 200) throw badRequest('q', 'must be 2..200 characters');
      const env = req.query.get('env');
      const limit = req.query.get('limit') === null ? 100 : intOf(req.query.get('limit'), 'limit', 1);
      if (limit > 1000) throw badRequest('limit', 'must be at most 1000');
      const all = await admin.namespaces({ ...(env ? { env: name('env', env) } : {}), signal: req.signal });
      const scanned = all.filter((n) => n.revision > 0).slice(0, SEARCH_SCAN_LIMIT);
      const matches: SearchMatch[] = [];
      for (let i = 0; i < scanned.length; i += 20) {
        const batch = scanned.slice(i, i + 20);
        const views = await Promise.all(
          batch.map((n) =>
            admin.get({ env: n.env, cluster: n.cluster, namespace: n.namespace }, { signal: req.signal }),
          ),
        );
        views.forEach((v, j) => {
          if (!v) return;
          const n = batch[j]!;
          for (const [item, value] of Object.entries(v.items)) {
            const onKey = item.toLowerCase().includes(q);
            const onValue = value !== MASK && JSON.stringify(value).toLowerCase().includes(q);
            if (onKey || onValue) {
              matches.push({ ...n, revision: v.revision, item, value, on: onKey ? 'key' : 'value' });
            }
          }
        });
      }
      return {
        q,
        matches: matches.slice(0, limit),
        total: matches.length,
        scanned: scanned.length,
        truncated: all.length > SEARCH_SCAN_LIMIT,
      };
    },
  };
}
