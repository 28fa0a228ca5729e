import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'demo/dist/**', 'bench/out/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        window: 'readonly', document: 'readonly', console: 'readonly', process: 'readonly', setTimeout: 'readonly',
        clearTimeout: 'readonly', URL: 'readonly', Buffer: 'readonly', location: 'readonly', navigator: 'readonly',
        indexedDB: 'readonly', sessionStorage: 'readonly', crypto: 'readonly', structuredClone: 'readonly',
        VisitStore: 'readonly', fetch: 'readonly', setInterval: 'readonly', clearInterval: 'readonly',
        IDBKeyRange: 'readonly', performance: 'readonly', PerformanceObserver: 'readonly', URLSearchParams: 'readonly',
        MessageChannel: 'readonly', Worker: 'readonly', self: 'readonly', importScripts: 'readonly', postMessage: 'readonly',
        setImmediate: 'readonly', queueMicrotask: 'readonly', Response: 'readonly', Request: 'readonly', Headers: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The benchmark's page scripts: classic scripts in the browser, sharing state through window.bench.
    files: ['bench/pages/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { performance: 'readonly', localStorage: 'readonly', URLSearchParams: 'readonly' },
    },
  },
)
