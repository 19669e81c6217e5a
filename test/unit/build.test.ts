import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/world.js';
import { sourceHash } from '../setup/build.js';

describe('the build the integration tests run', () => {
  it('is of the current source (globalSetup rebuilt dist/ when src/ changed)', () => {
    expect(readFileSync(join(ROOT, 'dist', '.src-hash'), 'utf8')).toBe(sourceHash());
  });
});
