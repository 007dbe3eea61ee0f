import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The engine (rootless/) never imports from the HTTP layer (api/): its interfaces live beside it
 * and use domain types, and api/ imports them. A pure check of the sources, so it needs no daemon.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * engine.ts assembles the services object the HTTP server takes (api/services.ts's ApiServices);
 * that aggregate stays in api/ with the network service's interface, which slirp/ implements.
 */
const ALLOWED = new Set(['rootless/engine.ts']);

/** Static `import … from`, `export … from`, bare `import '…'` and dynamic `import('…')` specifiers. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function apiImports(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const m of source.matchAll(SPECIFIER)) {
    const spec = m[1]!;
    if (!spec.startsWith('.')) continue;
    const target = relative(root, resolve(dirname(file), spec));
    if (target === 'api' || target.startsWith(`api${sep}`)) found.push(spec);
  }
  return found;
}

describe('layering', () => {
  it('rootless/ imports nothing from api/ (engine.ts assembles ApiServices)', () => {
    const files = tsFiles(join(root, 'rootless'));
    expect(files.length).toBeGreaterThan(50);
    const offenders = files
      .map((f) => ({ file: relative(root, f).split(sep).join('/'), imports: apiImports(f) }))
      .filter((o) => o.imports.length > 0 && !ALLOWED.has(o.file));
    expect(offenders).toEqual([]);
  });

  it('the scan sees an api/ import where there is one', () => {
    expect(apiImports(join(root, 'rootless/engine.ts'))).toEqual(['../api/services.js']);
  });
});
