// No module of src/ imports itself back, through static or dynamic imports: a circle makes the
// load order decide what is defined (cli/context.ts and cli/fleet-push.ts were one, until the
// application layer, src/run/, took both apart).
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { ROOT } from '../helpers/world.js';

const SRC = join(ROOT, 'src');

function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(SRC, file), 'utf8');
    const deps = [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)\.js['"]/g)]
      .map((m) => normalize(join(dirname(file), `${m[1]}.ts`)));
    graph.set(normalize(file), deps);
  }
  return graph;
}

function circles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (m: string) => {
    state.set(m, 'open');
    path.push(m);
    for (const d of graph.get(m) ?? []) {
      if (!graph.has(d)) continue;
      if (state.get(d) === 'open') found.push([...path.slice(path.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    path.pop();
    state.set(m, 'done');
  };
  for (const m of graph.keys()) if (!state.has(m)) visit(m);
  return found;
}

describe('import graph of src/', () => {
  it('reads the imports it checks (a static, a dynamic and a type import are all seen)', () => {
    const g = importGraph();
    expect(g.get('cli/check.ts')).toContain('run/scan.ts');
    expect(g.get('run/scan.ts')).toContain('run/push.ts'); // import('./push.js')
    expect(relative(ROOT, SRC)).toBe('src');
    expect(circles(new Map([['a', ['b']], ['b', ['a']]]))).toEqual([['a', 'b', 'a']]);
  });

  it('has no circle', () => {
    expect(circles(importGraph()).map((c) => c.join(' -> '))).toEqual([]);
  });
});
