import { describe, expect, it } from 'vitest';
import { documentedExtensions } from '../api-extensions.js';
import { openApiText } from './openapi-document.js';

describe('the OpenAPI document', () => {
  it('is current in schemas/openapi.json (npx tsx scripts/openapi.ts writes it)', async () => {
    await expect(await openApiText(documentedExtensions())).toMatchFileSnapshot('../../schemas/openapi.json');
  });
});
