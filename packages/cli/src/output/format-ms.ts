/** `1234` → `1.2s`, `-1` → `?` (unknown), for TTL columns. */
export function formatMs(ms: number): string {
  if (ms < 0 || !Number.isFinite(ms)) return '?';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
}
