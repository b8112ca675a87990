// Lint configuration: typescript-eslint's recommended rules, a few type-aware ones that catch
// real bugs (promises nobody handles), and the layering of src/ that docs/architecture.md
// describes, enforced here so that it cannot drift.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ours = (...dirs) => dirs.flatMap((d) => [`../${d}`, `../${d}/*`, `../../src/${d}`, `../../src/${d}/*`]);

/**
 * Import paths the layering rules below can read: no `./` or `../` inside a path and no file
 * extension, so that `../store/./core` or `../shared/kernel.js` cannot slip past a pattern.
 */
const normalized = {
  regex: '.(/\\.\\.?/)|^\\.\\.?/.*\\.(js|ts|mjs|cjs)$',
  message: 'Write our import paths plainly (no ./ or ../ inside, no extension): the layering rules match them.',
};

/** The enum rule of every TypeScript file, repeated where a folder adds selectors of its own. */
const noEnums = {
  selector: 'TSEnumDeclaration',
  message: 'No enums (transpile-only builds break on const enum): use an `as const` object.',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'docs/api/',
      'bench/results/',
      'test/fixtures/guests/build/',
      'examples/assemblyscript/build/',
      'examples/assemblyscript/assembly/',
      'assembly/',
    ],
  },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        Buffer: 'readonly',
        AbortController: 'readonly',
        structuredClone: 'readonly',
        WebAssembly: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        Int32Array: 'readonly',
        Uint8Array: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        performance: 'readonly',
        queueMicrotask: 'readonly',
        exports: 'writable',
      },
    },
  },
  { files: ['**/*.mjs'], languageOptions: { sourceType: 'module' } },
  ...tseslint.configs.recommended.map((c) => ({ ...c, files: ['**/*.ts'] })),
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: 'TSEnumDeclaration',
          message: 'No enums (transpile-only builds break on const enum): use an `as const` object.',
        },
      ],
    },
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    rules: {
      'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }],
    },
  },
  // ---- layering (docs/architecture.md, "Threads and layout of the code") ----
  {
    files: ['src/**/*.ts', 'demo/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [normalized] }],
      'no-restricted-syntax': [
        'error',
        noEnums,
        {
          selector: 'ImportExpression[source.type="Literal"]',
          message: 'No dynamic import of our own modules: the layering rules see static imports only.',
        },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/shared/**'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'Atomics', message: 'Only src/shared touches Atomics: add a named operation there.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'globalThis', property: 'Atomics', message: 'Only src/shared touches Atomics.' },
      ],
    },
  },
  {
    files: ['src/shared/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            normalized,
            {
              regex: '^\\.\\./(?!errors$)|^(comlink|piscina|wabt)$',
              message: 'src/shared imports nothing of ours outside src/shared but errors.ts.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/coordinator/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            normalized,
            {
              group: ours('store', 'pool', 'wasm', 'heap', 'index', 'worker'),
              message: 'The coordinator never imports the store side, the pool, wasm, the heap or the entries.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/pool/**/*.ts', 'src/wasm/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            normalized,
            {
              regex: '(^|/)(shared/(slot-table|transfer-table|kernel)|store/(core|slot-batch|connection))$',
              allowTypeImports: true,
              message:
                'Counts, roots and transfers go through the store core: import its operations from store/internal.',
            },
            {
              regex: '(^|/)internal/keys$',
              message: 'Reach a store core with coreOf / maybeCoreOf from store/internal.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['demo/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            normalized,
            {
              regex: '^\\.(?!/[a-z-]+$|\\./src(/worker)?$)',
              message: 'The demo uses the public API only: import from ../src, ../src/worker or its own files.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/index.ts', 'src/worker.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            normalized,
            {
              regex:
                '^\\./(internal/|coordinator/|store/(internal|core|slot-batch|connection|value-cache)$|' +
                'shared/(slot-table|transfer-table|slot-manager|kernel|root-region)$|pool/(transfer|protocol)$)',
              message: 'The package entries never re-export internal modules.',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        noEnums,
        {
          selector: 'ExportAllDeclaration',
          message: 'The package entries name what they export: `export *` would publish internals.',
        },
      ],
    },
  },
);
