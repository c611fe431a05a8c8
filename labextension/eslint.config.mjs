// eslint for the panel (src/, its jest tests) and the Galata tests (ui-tests/); prettier owns formatting.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import react from 'eslint-plugin-react';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'lib/',
      'coverage/',
      '.yarn/',
      'ui-tests/node_modules/',
      'ui-tests/test-results/',
      'ui-tests/playwright-report/',
      'src/openapi.ts'
    ]
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Type-aware rules where the code has a tsconfig (src/ through tsconfig.test.json, which includes the tests).
    files: ['src/**/*.{ts,tsx}'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { project: './tsconfig.test.json', tsconfigRootDir: import.meta.dirname },
      globals: { ...globals.browser }
    },
    settings: { react: { version: 'detect' } },
    plugins: { react, 'react-hooks': reactHooks },
    rules: {
      ...react.configs.recommended.rules,
      // The two classic hook rules; the React Compiler rules of `recommended` fit code built with that compiler.
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
      curly: ['error', 'all']
    }
  },
  {
    files: ['src/__tests__/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.jest, ...globals.node } },
    rules: {
      // expect(actions.openRun) hands jest the mock to inspect; nothing calls it unbound.
      '@typescript-eslint/unbound-method': 'off',
      // Mocked server answers are async functions standing in for requestAPI, with or without an await.
      '@typescript-eslint/require-await': 'off'
    }
  },
  {
    files: ['ui-tests/**/*.ts'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      // page.evaluate reaches into the page's untyped globals (window.jupyterapp), and CLI JSON is untyped.
      '@typescript-eslint/no-explicit-any': 'off',
      // Galata fixtures are asked for by name for their side effect (tmpPath makes the test's server folder).
      '@typescript-eslint/no-unused-vars': ['error', { args: 'none' }]
    }
  },
  {
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' }
  },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  prettier
);
