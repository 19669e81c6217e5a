// ESLint with typescript-eslint's type-checked rules over src/ (npm run lint; ~30 s of CPU). What
// is checked are the rules that find bugs or holes in the types; layout is not linted. Each rule
// turned off or tuned below says why.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', 'reports/', '.stryker-tmp/', 'test/', 'bench/', 'hooks/', '*.config.*'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname } },
    // an eslint-disable comment must name a rule that is on and would fire
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // lsm escapes control characters by rule (DESIGN.md: one escaping function; hostile names):
      // regexes that match \x00-\x1f are the point of that code, not a typo
      'no-control-regex': 'off',
      // `let text = ''; try { text = read() } catch { return }` is the idiom for reads that may fail;
      // the initial value is dead but harmless, and TypeScript's definite-assignment check covers
      // the case this rule exists for
      'no-useless-assignment': 'off',
      // async without await keeps a Promise-returning signature (yargs handlers, the store's
      // readers whose callers await them); the rules about misused promises stay on
      '@typescript-eslint/require-await': 'off',
      // `_`-prefixed names are deliberately unused: a rest destructuring that leaves fields out,
      // a parameter a callback signature requires
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // the fleet's subcommands share one loose argv type (FleetArgv: fleet-questions.ts says why);
    // their values are checked by option-check.ts before a handler runs
    files: ['src/cli/fleet.ts', 'src/cli/fleet-questions.ts'],
    rules: { '@typescript-eslint/no-unsafe-assignment': 'off', '@typescript-eslint/no-unsafe-argument': 'off' },
  },
  {
    // the fleet web view's page script: plain browser JavaScript, shipped as it is (no build step),
    // outside the TypeScript project; the recommended rules, and no markup from strings
    files: ['web/**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', location: 'readonly', fetch: 'readonly', TextEncoder: 'readonly' },
    },
    rules: {
      ...tseslint.configs.disableTypeChecked.rules,
      'no-restricted-properties': ['error', ...['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'write'].map((property) => ({ property, message: 'host strings are text: textContent, createElement' }))],
    },
  },
);
