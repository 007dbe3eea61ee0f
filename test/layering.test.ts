import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The engine (rootless/), the networking code (slirp/) and the pure translations (translate/) never
 * import from the HTTP layer (api/): the engine's interfaces live beside it and use domain types,
 * and api/ imports them. No exceptions:
 * engine.ts builds rootless/engine-services.ts's aggregate, which api/services.ts re-exports.
 * A pure check of the sources, so it needs no daemon.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Everything below the HTTP layer: the engine, its networking, and the pure translations api/ calls. */
const BELOW_API = ['rootless', 'slirp', 'translate'];

/** Static `import … from`, `export … from`, bare `import '…'` and dynamic `import('…')` specifiers. */
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)['"]([^'"]+)['"]/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

function apiImports(file: string, source = readFileSync(file, 'utf8')): string[] {
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
  it.each(BELOW_API)('%s/ imports nothing from api/', (dir) => {
    const files = tsFiles(join(root, dir));
    expect(files.length).toBeGreaterThan(15);
    const offenders = files
      .map((f) => ({ file: relative(root, f).split(sep).join('/'), imports: apiImports(f) }))
      .filter((o) => o.imports.length > 0);
    expect(offenders).toEqual([]);
  });

  it('the scan sees an api/ import where there is one (static, re-export, bare and dynamic)', () => {
    const source = [
      "import type { ApiServices } from '../api/services.js';",
      "export { x } from '../api/query.js';",
      "import '../api/server.js';",
      "const m = await import('../api/validate.js');",
      "import { y } from '../translate/errors.js';",
    ].join('\n');
    expect(apiImports(join(root, 'rootless/engine.ts'), source)).toEqual(['../api/services.js', '../api/query.js', '../api/server.js', '../api/validate.js']);
    expect(apiImports(join(root, 'slirp/hub-agent/x.ts'), "import { z } from '../../api/services.js';")).toEqual(['../../api/services.js']);
  });
});
