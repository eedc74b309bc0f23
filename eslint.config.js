// perfy's style gate (`npm run lint`): line length and unused names, over the source, tests, benchmarks and tools.
// Deliberately small: only rules the whole tree can keep at zero, and no type-aware rules (they cost seconds).
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

const unusedVars = {
  args: 'after-used',
  // A leading `_` marks an argument or a destructured sibling kept on purpose (`{ plan: _plan, ...rest }`).
  argsIgnorePattern: '^_',
  varsIgnorePattern: '^_',
  destructuredArrayIgnorePattern: '^_',
  caughtErrorsIgnorePattern: '^_',
  ignoreRestSiblings: true,
};

// Rules that cost nothing to keep: the code never breaks them, and breaking one is a bug, not a taste.
const zeroCost = {
  'no-unreachable': 'error',
  'no-unused-private-class-members': 'error',
  'no-dupe-keys': 'error',
  'no-duplicate-case': 'error',
  'no-self-assign': 'error',
  'no-unsafe-finally': 'error',
  'no-constant-binary-expression': 'error',
  'no-debugger': 'error',
};

export default defineConfig([
  globalIgnores(['dist/', 'engine/generated/', '**/node_modules/', 'bench/node_modules/']),
  // Plain JavaScript is linted only where listed below (not fixtures/ or templates/, which are data).
  globalIgnores(['**/*.{js,mjs,cjs}', '!eslint.config.js', '!bench/**/*.mjs', '!engine/build/*.mjs']),
  {
    files: ['eslint.config.js', 'bench/**/*.mjs', 'engine/build/*.mjs', 'bin/perfy'],
    languageOptions: { ecmaVersion: 'latest', sourceType: 'module' },
    rules: {
      'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
      'no-unused-vars': ['error', unusedVars],
      ...zeroCost,
    },
  },
  {
    files: ['engine/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 'latest', sourceType: 'module' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
      '@typescript-eslint/no-unused-vars': ['error', unusedVars],
      ...zeroCost,
    },
  },
]);
