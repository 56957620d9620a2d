import { expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';

it('the demo runs end to end on the in-memory backends', async () => {
  const lines: string[] = [];
  const result = await runDemo((l) => lines.push(l));
  expect(result.instancesSeen).toBe(3);
  expect(result.instancesAfterShutdown).toBe(2);
  expect(result.pulledOut).toEqual(['orders-1', 'orders-3']);
  expect(result.rebuildsPerPullOut).toBe(1);
  expect(result.responses).toHaveLength(30);
  // Locality: the gateway sits in zone-a and both zone-a instances are healthy.
  expect(Object.keys(result.perInstance).sort()).toEqual(['orders-1', 'orders-2']);
  expect(result.billingTokens).toHaveLength(2);
  expect(result.billingTokens[1]! > result.billingTokens[0]!).toBe(true);
  expect(result.staleWriteRefused).toBe(true);
  expect(result.cacheHit).toBe(true);
  expect(lines.some((l) => l.includes('discount is now 15%'))).toBe(true);
});
