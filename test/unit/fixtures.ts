// Collect from a fixture /proc tree under test/fixtures/<name>.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { collect } from '../../src/collect/index.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export function collectFixture(name: string) {
  const root = join(FIXTURES, name);
  return collect({ procRoot: join(root, 'proc'), passwdPath: join(root, 'etc', 'passwd'), netnsDir: join(root, 'run', 'netns') });
}
