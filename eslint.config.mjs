// One flat config for the whole repository. Generated code (imports/,
// constructs/admission/generated/, constructs/json-mappers/) and build output are linted by
// nobody: they are regenerated, not edited.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'lib/**',
      'imports/**',
      'constructs/admission/generated/**',
      'constructs/json-mappers/**',
      'dist/**',
      'docs/api/**',
      'node_modules/**',
      '.ci/node/**',
      'reports/**',
      '.stryker-tmp/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    // tools/require-node.cjs: plain CommonJS that any Node.js version can run.
    files: ['**/*.cjs'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', process: 'readonly' },
    },
  },
);
