#!/usr/bin/env node
// Builds the documentation site: every `docs/*.md` page and every `packages/*/README.md` (plus the
// root README as the overview) rendered to static HTML with one navigation bar, into `docs/dist/`.
// Relative links are rewritten (`.md` -> `.html`, `packages/x` -> its page, other repository files
// -> the file on GitHub) and checked: a link to a page, file or `#anchor` that does not exist fails
// the build (exit 1), so a broken link fails CI. External links are not fetched.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Marked } from 'marked';

const REPO_URL = 'https://github.com/switchyard-dev/switchyard/blob/main/';
const here = dirname(fileURLToPath(import.meta.url));

/** GitHub-style heading slug: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
export function slugger() {
  const seen = new Map();
  return (text) => {
    const base = text
      .toLowerCase()
      .trim()
      .replace(/<[^>]*>/g, '')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return n === 0 ? base : `${base}-${n}`;
  };
}

/** The pages of the site: source file (repository-relative) -> output path (site-relative). */
export function collectPages(root) {
  const pages = [];
  if (existsSync(join(root, 'README.md')))
    pages.push({ source: 'README.md', out: 'index.html', title: 'Overview' });
  for (const f of readdirSync(join(root, 'docs')).sort()) {
    if (!f.endsWith('.md')) continue;
    pages.push({ source: `docs/${f}`, out: `guide/${f.replace(/\.md$/, '.html')}`, title: undefined });
  }
  for (const p of readdirSync(join(root, 'packages')).sort()) {
    if (existsSync(join(root, 'packages', p, 'README.md'))) {
      pages.push({ source: `packages/${p}/README.md`, out: `packages/${p}.html`, title: `@switchyard/${p}` });
    }
  }
  return pages;
}

function escapeHtml(s) {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Builds the site from `root` into `outDir`. Returns the pages and every broken link
 * (`{ page, href, problem }`); writes nothing outside `outDir`.
 */
export function buildSite({ root = resolve(here, '..'), outDir = join(here, 'dist') } = {}) {
  const pages = collectPages(root);
  const bySource = new Map(pages.map((p) => [p.source, p]));
  const anchors = new Map();
  const rendered = [];
  const links = [];
  const assets = new Set();

  for (const page of pages) {
    const markdown = readFileSync(join(root, page.source), 'utf8');
    const slug = slugger();
    const ids = new Set();
    const marked = new Marked({ gfm: true });
    marked.use({
      renderer: {
        heading({ tokens, depth }) {
          const html = this.parser.parseInline(tokens);
          const id = slug(html);
          ids.add(id);
          return `<h${depth} id="${id}"><a class="anchor" href="#${id}">#</a>${html}</h${depth}>\n`;
        },
      },
    });
    // Links are resolved on the tokens, before rendering, so the HTML carries the site's hrefs.
    const tokens = marked.lexer(markdown);
    marked.walkTokens(tokens, (t) => {
      if (t.type === 'image' && isLocalFile(root, page, t.href)) {
        // Images are copied into the site (a repository link would show GitHub's page, not the image).
        const source = posix.normalize(posix.join(posix.dirname(page.source), t.href));
        assets.add(source);
        links.push({ page, href: t.href, target: {} });
        t.href = posix.relative(posix.dirname(page.out), `assets/${source}`);
      } else if (t.type === 'link' || t.type === 'image') {
        const target = resolveLink(root, page, t.href, bySource);
        links.push({ page, href: t.href, target });
        if (target.href !== undefined) t.href = target.href;
      }
    });
    const body = marked.parser(tokens);
    const h1 = /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim();
    page.title ??= h1 ?? page.source;
    anchors.set(page.out, ids);
    rendered.push({ page, body });
  }

  const broken = [];
  for (const { page, href, target } of links) {
    if (target.problem) broken.push({ page: page.source, href, problem: target.problem });
    else if (target.anchor !== undefined && target.page && !anchors.get(target.page)?.has(target.anchor)) {
      broken.push({ page: page.source, href, problem: `no heading #${target.anchor} in ${target.page}` });
    }
  }

  rmSync(outDir, { recursive: true, force: true });
  for (const { page, body } of rendered) {
    const file = join(outDir, page.out);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, layout(page, pages, body));
  }
  for (const source of assets) {
    const file = join(outDir, 'assets', source);
    mkdirSync(dirname(file), { recursive: true });
    copyFileSync(join(root, source), file);
  }
  writeFileSync(join(outDir, 'style.css'), STYLE);
  return { pages, broken, outDir, assets: [...assets] };
}

/** Whether `href` (relative to `page`) names an existing file in the repository (an image to copy). */
function isLocalFile(root, page, href) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//') || href.includes('#')) return false;
  const target = posix.normalize(posix.join(posix.dirname(page.source), href));
  if (target.startsWith('..')) return false;
  return existsSync(join(root, target)) && statSync(join(root, target)).isFile();
}

/** Where a link in `page` points on the site, or why it cannot. */
function resolveLink(root, page, href, bySource) {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//')) return { href: undefined }; // external
  const [path, anchor] = href.split('#');
  if (path === '') return { href: undefined, page: page.out, anchor };
  const sourceDir = posix.dirname(page.source);
  const target = posix.normalize(posix.join(sourceDir, path)).replace(/\/$/, '');
  if (target.startsWith('..')) return { problem: 'points outside the repository' };
  const candidates = [target, `${target}/README.md`];
  for (const c of candidates) {
    const p = bySource.get(c);
    if (p) {
      const rel = posix.relative(posix.dirname(page.out), p.out) || posix.basename(p.out);
      return { href: `${rel}${anchor !== undefined ? `#${anchor}` : ''}`, page: p.out, anchor };
    }
  }
  if (!existsSync(join(root, target))) return { problem: `no such file: ${target}` };
  const kind = statSync(join(root, target)).isDirectory() ? 'tree' : 'blob';
  return {
    href: `${REPO_URL.replace('/blob/', `/${kind}/`)}${target}${anchor !== undefined ? `#${anchor}` : ''}`,
  };
}

function layout(page, pages, body) {
  const depth = page.out.split('/').length - 1;
  const up = depth === 0 ? '' : '../'.repeat(depth);
  const group = (prefix) =>
    pages
      .filter((p) => p.out.startsWith(prefix))
      .map((p) => {
        const current = p === page ? ' aria-current="page"' : '';
        return `<li><a href="${up}${p.out}"${current}>${escapeHtml(p.title ?? p.source)}</a></li>`;
      })
      .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(page.title ?? 'Switchyard')} · Switchyard</title><link rel="stylesheet" href="${up}style.css"></head>
<body><nav><a class="home" href="${up}index.html">Switchyard</a>
<h2>Guides</h2><ul>${group('guide/')}</ul><h2>Packages</h2><ul>${group('packages/')}</ul></nav>
<main>${body}</main></body></html>
`;
}

const STYLE = `body{margin:0;display:flex;font:16px/1.55 system-ui,sans-serif;color:#1f2328}
nav{width:16rem;flex:none;padding:1rem;border-right:1px solid #d0d7de;height:100vh;overflow:auto;position:sticky;top:0;box-sizing:border-box}
nav h2{font-size:.8rem;text-transform:uppercase;color:#59636e;margin:1.2rem 0 .3rem}nav ul{list-style:none;padding:0;margin:0}
nav a{color:inherit;text-decoration:none;display:block;padding:.1rem 0}nav a[aria-current]{font-weight:600;color:#0969da}
.home{font-weight:700;font-size:1.2rem}main{max-width:52rem;padding:1rem 2rem;min-width:0}
pre{background:#f6f8fa;padding:.8rem;overflow:auto;border-radius:6px}code{font-size:.9em}
table{border-collapse:collapse;display:block;overflow:auto}td,th{border:1px solid #d0d7de;padding:.3rem .6rem}
.anchor{visibility:hidden;margin-left:-1em;padding-right:.2em;text-decoration:none}h1:hover .anchor,h2:hover .anchor,h3:hover .anchor{visibility:visible}`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { pages, broken, outDir } = buildSite();
  for (const b of broken) process.stderr.write(`broken link in ${b.page}: ${b.href} (${b.problem})\n`);
  process.stdout.write(
    `docs: ${pages.length} pages -> ${relative(process.cwd(), outDir) || outDir}${broken.length ? `, ${broken.length} broken links` : ''}\n`,
  );
  process.exitCode = broken.length ? 1 : 0;
}
