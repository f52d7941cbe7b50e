import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const impureGlobals = [
  {
    name: 'process',
    message: 'src/core is pure: configuration and the environment reach it as arguments.',
  },
  { name: 'setTimeout', message: 'src/core is pure: no timers.' },
  { name: 'setInterval', message: 'src/core is pure: no timers.' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'packages/*/dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': ['error', { disallowTypeAnnotations: false }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Only src/main.ts and scripts read process.env; take a typed Config instead.',
        },
      ],
    },
  },
  {
    // Nest resolves constructor dependencies from emitted decorator metadata, so injected
    // classes must stay value imports.
    files: ['src/**/*.ts'],
    ignores: ['src/core/**'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'node:crypto',
              importNames: [
                'randomBytes',
                'randomUUID',
                'randomInt',
                'getRandomValues',
                'webcrypto',
              ],
              message: 'src/core takes randomness as an argument.',
            },
          ],
          patterns: [
            { group: ['@nestjs/*'], message: 'src/core is pure: no Nest.' },
            {
              group: ['ioredis', 'ws', 'express', 'pino', 'nestjs-pino', 'prom-client'],
              message: 'src/core is pure: no I/O libraries.',
            },
            {
              group: [
                'node:fs',
                'node:fs/*',
                'fs',
                'node:net',
                'net',
                'node:http',
                'node:https',
                'http',
                'https',
                'node:child_process',
                'child_process',
                'node:os',
                'os',
              ],
              message: 'src/core is pure: no I/O.',
            },
            { group: ['../*', '!./*'], message: 'src/core imports only from src/core.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', ...impureGlobals],
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'src/core takes `now` as an argument.' },
        {
          object: 'Math',
          property: 'random',
          message: 'src/core takes ids and randomness as arguments.',
        },
        { object: 'process', property: 'env', message: 'src/core is pure.' },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'src/core takes `now` as an argument.',
        },
        {
          selector: "CallExpression[callee.object.name='crypto'][callee.property.name=/^random/]",
          message: 'src/core takes randomness as an argument.',
        },
      ],
    },
  },
  {
    files: ['src/main.ts', 'scripts/**', 'bench/**', 'test/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
