import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without declarations
import { buildSite } from '../build-site.mjs';

interface Built {
  pages: { source: string; out: string; title: string }[];
  broken: { page: string; href: string; problem: string }[];
  outDir: string;
}

const root = join(import.meta.dirname, '..', '..');
const temp = mkdtempSync(join(tmpdir(), 'switchyard-docs-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)],
  );
}

describe('docs site', () => {
  it('builds every guide and package README with no broken link or anchor', () => {
    const site = buildSite({ root, outDir: join(temp, 'site') }) as Built;
    expect(site.broken).toEqual([]);
    const sources = site.pages.map((p) => p.source);
    expect(sources).toContain('docs/getting-started.md');
    expect(sources).toContain('packages/cli/README.md');
    expect(sources).toContain('packages/lock-redis/README.md');
    // independently of the builder's own check: every relative href in the HTML exists
    const html = files(site.outDir).filter((f) => f.endsWith('.html'));
    expect(html.length).toBe(site.pages.length);
    let checked = 0;
    for (const file of html) {
      const text = readFileSync(file, 'utf8');
      for (const [, href] of text.matchAll(/href="([^"]+)"/g)) {
        if (/^[a-z]+:/.test(href as string)) continue;
        const [path, anchor] = (href as string).split('#');
        const target = path ? join(dirname(file), path) : file;
        const body = readFileSync(target, 'utf8');
        if (anchor) expect(body, `${relative(site.outDir, file)} -> ${href}`).toContain(`id="${anchor}"`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(100);
    // Images (the console's screenshots) are copied into the site and every <img src> resolves.
    let images = 0;
    for (const file of html) {
      for (const [, src] of readFileSync(file, 'utf8').matchAll(/<img src="([^"]+)"/g)) {
        if (/^[a-z]+:/.test(src as string)) continue;
        expect(
          readFileSync(join(dirname(file), src as string))
            .subarray(1, 4)
            .toString(),
          src,
        ).toBe('PNG');
        images++;
      }
    }
    expect(images).toBeGreaterThanOrEqual(5);
  });

  it('a broken link or anchor is reported (the build command then exits 1)', () => {
    const fake = join(temp, 'repo');
    mkdirSync(join(fake, 'docs'), { recursive: true });
    mkdirSync(join(fake, 'packages', 'a'), { recursive: true });
    writeFileSync(join(fake, 'README.md'), '# Root\n\n[a](packages/a) [gone](packages/zzz)\n');
    writeFileSync(
      join(fake, 'docs', 'guide.md'),
      '# Guide\n\n## Real heading\n\n[ok](#real-heading) [bad](#nope) [pkg](../packages/a/README.md#usage)\n',
    );
    writeFileSync(join(fake, 'packages', 'a', 'README.md'), '# a\n\n## Usage\n');
    const site = buildSite({ root: fake, outDir: join(temp, 'fake-site') }) as Built;
    expect(site.broken.map((b) => `${b.page} ${b.href}`).sort()).toEqual([
      'README.md packages/zzz',
      'docs/guide.md #nope',
    ]);
  });

  it('the TypeScript examples of the guides type-check against the packages', () => {
    const dir = join(import.meta.dirname, '..', '.examples');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const written: string[] = [];
    for (const f of readdirSync(join(root, 'docs')).filter((n) => n.endsWith('.md'))) {
      const md = readFileSync(join(root, 'docs', f), 'utf8');
      // A block with an ellipsis (…) is a sketch, not a program: only whole examples are checked.
      const blocks = [...md.matchAll(/```ts\n([\s\S]*?)```/g)].filter((m) => !(m[1] as string).includes('…'));
      blocks.forEach((m, i) => {
        const file = join(dir, `${f.replace(/\.md$/, '')}-${i + 1}.ts`);
        writeFileSync(file, `${m[1]}\nexport {};\n`);
        written.push(file);
      });
    }
    expect(written.length).toBeGreaterThanOrEqual(4);
    const config = ts.readConfigFile(join(root, 'tsconfig.base.json'), ts.sys.readFile).config;
    const { options } = ts.parseJsonConfigFileContent(config, ts.sys, root);
    const program = ts.createProgram(written, { ...options, noEmit: true, noUnusedLocals: false });
    const problems = ts
      .getPreEmitDiagnostics(program)
      .map(
        (d) =>
          `${d.file ? relative(dir, d.file.fileName) : ''}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
    rmSync(dir, { recursive: true, force: true });
    expect(problems).toEqual([]);
  });
});
