import { connect } from 'node:net';
import type { CheckRecord, CheckStatus } from './state.js';

/**
 * Runs one HTTP or TCP probe like a Consul agent: HTTP 2xx → passing, 429 → warning, anything else
 * (or no answer within Timeout) → critical; TCP connect → passing, refused/timeout → critical.
 */
export async function runProbe(c: CheckRecord): Promise<{ status: CheckStatus; output: string }> {
  const timeout = c.timeoutMs ?? 10_000;
  if (c.http) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.http.header))
      headers[k] = Array.isArray(v) ? v.join(',') : String(v);
    try {
      const res = await fetch(c.http.url, {
        method: c.http.method,
        headers,
        signal: AbortSignal.timeout(timeout),
        redirect: 'follow',
      });
      const body = (await res.text()).slice(0, 4096);
      const line = `HTTP ${c.http.method} ${c.http.url}: ${res.status} ${res.statusText} Output: ${body}`;
      if (res.status >= 200 && res.status < 300) return { status: 'passing', output: line };
      if (res.status === 429) return { status: 'warning', output: line };
      return { status: 'critical', output: line };
    } catch (error) {
      return {
        status: 'critical',
        output: `HTTP ${c.http.method} ${c.http.url}: ${(error as Error).message}`,
      };
    }
  }
  const target = c.tcp ?? '';
  const sep = target.lastIndexOf(':');
  const host = target.slice(0, sep).replace(/^\[|\]$/g, '');
  const port = Number(target.slice(sep + 1));
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ status: 'critical', output: `dial tcp ${target}: i/o timeout` });
    }, timeout);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: 'passing', output: `TCP connect ${target}: Success` });
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      resolve({ status: 'critical', output: `dial tcp ${target}: ${error.message}` });
    });
  });
}
