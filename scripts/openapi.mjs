// Entry point of `npm run openapi`: writes docs/openapi.json from the compiled controllers'
// decorators (`preopenapi` builds first). test/api-docs/openapi.spec.ts fails when the
// committed file differs from what the code generates.
import { writeFile } from 'node:fs/promises';
import process from 'node:process';
import { URL } from 'node:url';
import { buildOpenApiDocument, renderOpenApiDocument } from '../dist/api-docs/openapi-document.js';

const target = new URL('../docs/openapi.json', import.meta.url);
await writeFile(target, renderOpenApiDocument(await buildOpenApiDocument()));
process.stdout.write(`wrote ${target.pathname}\n`);
