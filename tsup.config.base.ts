import { defineConfig, type Options } from 'tsup';

/** Shared build: ESM + CJS + .d.ts for every package, one entry per public subpath. */
export function packageConfig(
  entry: Record<string, string> = { index: 'src/index.ts' },
  extra: Partial<Options> = {},
) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    treeshake: true,
    splitting: false,
    ...extra,
  });
}
