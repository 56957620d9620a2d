import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

// The "allocation-free pick" contract, measured: young-generation growth over 200,000 picks per
// picker, in a fresh process with a semi-space large enough that no scavenge runs in a burst.
// Random-drawing pickers used to allocate 16-61 B per pick (Math.random returns a heap number).
it('every picker picks without allocating (bytes per pick < 1)', () => {
  const script = fileURLToPath(new URL('../bench/pick-allocation.ts', import.meta.url));
  const out = execFileSync(
    process.execPath,
    [
      '--expose-gc',
      '--max-semi-space-size=64',
      '--min-semi-space-size=64',
      '--conditions=switchyard-source',
      '--import',
      'tsx/esm',
      script,
    ],
    { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8', timeout: 60_000 },
  );
  const rows = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { picker: string; bytesPerPick: number });
  expect(rows.length).toBe(14);
  for (const r of rows) expect(r.bytesPerPick, r.picker).toBeLessThan(1);
}, 60_000);
