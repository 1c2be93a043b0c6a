import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

// Layer rules of design/architecture.md: core is pure (no DOM/React/IndexedDB/fs, nothing of the
// project outside core); the UI never imports tfjs, IndexedDB code or core modules that use tfjs.
// test/layers.test.ts checks the same on the whole import graph.
const coreForbidden = {
  paths: [
    { name: 'react', message: 'src/core is UI-free.' },
    { name: 'react-dom', message: 'src/core is UI-free.' },
    { name: 'idb', message: 'src/core has no IndexedDB; use src/storage from workers/.' },
    { name: 'fs', message: 'src/core has no fs; file I/O lives in src/cli.' },
    { name: 'node:fs', message: 'src/core has no fs; file I/O lives in src/cli.' },
    { name: 'fs/promises', message: 'src/core has no fs.' },
    { name: 'node:fs/promises', message: 'src/core has no fs.' },
  ],
  patterns: [
    { group: ['**/storage/**', '**/app/**', '**/cli/**', '**/workers/**'], message: 'src/core imports nothing of the project outside src/core.' },
  ],
};

const appForbidden = {
  patterns: [
    { group: ['@tensorflow/*'], message: 'The UI never imports tfjs: talk to the worker client.' },
    { group: ['idb', '**/storage/**'], message: 'The UI reaches storage only through the worker.' },
    { group: ['**/core/backend*', '**/core/nn/**', '**/core/models/**', '**/core/train/**', '**/core/optim/**'], message: 'These core modules use tfjs; the UI must not import them.' },
  ],
};

// Storage sits below the workers: it knows core types, never the worker contract or the UI.
const storageForbidden = {
  patterns: [{ group: ['**/workers/**', '**/app/**', '**/cli/**'], message: 'src/storage imports only src/storage and src/core.' }],
};

// The worker never depends on the UI (the UI depends on the worker contract).
const workersForbidden = {
  patterns: [{ group: ['**/src/app/**'], message: 'workers/ never imports the UI.' }],
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', 'public/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.browser, ...globals.node, ...globals.worker } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'warn',
    },
  },
  {
    files: ['src/app/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'warn',
      'no-restricted-imports': ['error', appForbidden],
    },
  },
  { files: ['src/core/**/*.ts'], rules: { 'no-restricted-imports': ['error', coreForbidden] } },
  { files: ['src/storage/**/*.ts'], rules: { 'no-restricted-imports': ['error', storageForbidden] } },
  { files: ['workers/**/*.ts'], rules: { 'no-restricted-imports': ['error', workersForbidden] } },
);
