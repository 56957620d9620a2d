import { defaultServerConditions } from 'vite';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

/** Per-package vitest project: resolves workspace packages to their TypeScript source. */
export function packageProject(name: string, extra: UserWorkspaceConfig['test'] = {}) {
  const conditions = ['switchyard-source', ...defaultServerConditions];
  return defineProject({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: conditions } },
    test: {
      name,
      environment: 'node',
      include: ['test/**/*.test.ts'],
      testTimeout: 30_000,
      hookTimeout: 60_000,
      ...extra,
    },
  });
}
