import { expect, it } from 'vitest';
import { runDemo } from '../src/demo.js';

it('the demo runs end to end on the in-memory backends', async () => {
  const lines: string[] = [];
  const result = await runDemo((l) => lines.push(l));
  expect(result.instancesSeen).toBe(3);
  expect(result.instancesAfterShutdown).toBe(2);
  expect(result.pulledOut).toEqual(['orders-1', 'orders-3']);
  expect(result.responses.sort()).toEqual(['orders-1', 'orders-2', 'orders-3']);
  expect(result.billingTokens).toHaveLength(2);
  expect(result.billingTokens[1]! > result.billingTokens[0]!).toBe(true);
  expect(result.staleWriteRefused).toBe(true);
  expect(result.cacheHit).toBe(true);
  expect(lines.some((l) => l.includes('discount is now 15%'))).toBe(true);
});
