// `npm run lint` (with `prettier --check`): ESLint's and typescript-eslint's recommended rules.
// Formatting is Prettier's business (.prettierrc); nothing here is about layout.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  // Not ours to lint: build output, run folders, and the code under research (environments,
  // fixtures, sandbox images), which a model edits and which is not even TypeScript.
  { ignores: ['dist/', 'runs/', 'test-artifacts/', 'bench/out/', 'environments/', 'sandboxes/', 'test/fixtures/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `const { secret, ...kept } = x` is how the code drops a field; `_` marks a parameter an interface makes us take.
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true, argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The tests' regexes match YAML indentation and aligned table columns: literal spaces read as the text they match.
      'no-regex-spaces': 'off',
    },
  },
  {
    // The plain-JavaScript entry points (they run before TypeScript can be loaded).
    files: ['bin/**/*.js', 'scripts/**/*.js', 'eslint.config.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', performance: 'readonly' } },
  },
);
