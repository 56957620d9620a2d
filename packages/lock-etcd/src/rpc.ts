/** Per-call gRPC options: an absolute deadline so no call to a dead or paused member can hang. */
export function callOptions(timeoutMs: number): { deadline: Date } {
  return { deadline: new Date(Date.now() + timeoutMs) };
}
