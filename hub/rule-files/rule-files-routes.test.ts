import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterEach, describe, expect, it } from 'vitest';
import { FAN, makeRig, type Rig } from './rule-files-rig.js';
import { ruleFilesRoutes } from './rule-files-routes.js';

const rigs: Rig[] = [];
afterEach(async () => {
  for (const rig of rigs.splice(0)) await rig.cleanup();
});

/** The sub-app mounted where the hub's HTTP server mounts it. */
async function api(options: Parameters<typeof makeRig>[0] = {}) {
  const rig = await makeRig(options);
  rigs.push(rig);
  const app = new Hono().route('/api/rule-files', ruleFilesRoutes(rig.service));
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await app.request(`/api/rule-files${path}`, {
      method,
      ...(body !== undefined && {
        headers: { 'content-type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  return { rig, call };
}

const errorOf = (json: Record<string, unknown>) =>
  json.error as { code: string; message: string; problems?: unknown[] };

describe('/api/rule-files', () => {
  it('lists and reads files; an unknown one is 404 RULE_FILE_UNKNOWN', async () => {
    const { rig, call } = await api();
    const list = await call('GET', '');
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({
      dir: rig.rulesDir,
      files: [
        { name: 'fan.yaml', rules: ['fan'] },
        { name: 'humid.yaml', rules: ['humid'] },
      ],
    });
    const file = await call('GET', '/fan.yaml');
    expect(file).toMatchObject({ status: 200, json: { name: 'fan.yaml', text: FAN } });
    const missing = await call('GET', '/none.yaml');
    expect(missing.status).toBe(404);
    expect(errorOf(missing.json).code).toBe('RULE_FILE_UNKNOWN');
  });

  it('refuses a name with a path, however it is encoded', async () => {
    const { call } = await api();
    for (const path of [
      '/..%2Foutside.yaml',
      '/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd',
      '/.hidden.yaml',
      '/fan.txt',
    ]) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(400);
      expect(errorOf(res.json).code, path).toBe('RULE_FILE_NAME');
    }
    const put = await call('PUT', '/..%2Fx.yaml', { text: FAN });
    expect(errorOf(put.json).code).toBe('RULE_FILE_NAME');
    const validate = await call('POST', '/validate', { name: '../x.yaml', text: FAN });
    expect([validate.status, errorOf(validate.json).code]).toEqual([400, 'RULE_FILE_NAME']);
  });

  it('validates an edit with located problems', async () => {
    const { call } = await api();
    const res = await call('POST', '/validate', { name: 'fan.yaml', text: FAN.replace('if:', 'iff:') });
    expect(res.status).toBe(200);
    expect(res.json.ok).toBe(false);
    expect((res.json.problems as unknown[])[0]).toMatchObject({ file: 'fan.yaml', line: 4, col: 5 });
  });

  it('previews an edit over the stored events', async () => {
    const { call } = await api();
    const res = await call('POST', '/preview', {
      name: 'fan.yaml',
      text: FAN.replace('> 30', '> 25'),
      since: '24h',
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      ok: true,
      edited: { fired: 4, rules: 2 },
      inForce: { fired: 2, rules: 2 },
      diff: { added: [], removed: [], changed: ['fan'] },
      loops: [],
    });
    const bad = await call('POST', '/preview', { name: 'fan.yaml', text: FAN, since: 'soon' });
    expect([bad.status, errorOf(bad.json).code]).toEqual([400, 'HTTP_BAD_REQUEST']);
  });

  it('saves, refuses an invalid edit with 422 and its problems, and a stale base with 409', async () => {
    const { rig, call } = await api();
    const { json } = await call('GET', '/fan.yaml');
    const invalid = await call('PUT', '/fan.yaml', { text: FAN.replace('id: fan', 'id: humid') });
    expect(invalid.status).toBe(422);
    expect(errorOf(invalid.json)).toMatchObject({
      code: 'RULES_INVALID',
      problems: [expect.objectContaining({ code: 'RULE_DUPLICATE_ID', file: 'humid.yaml' })],
    });
    const edited = FAN.replace('> 30', '> 25');
    const saved = await call('PUT', '/fan.yaml', { text: edited, baseModifiedAt: json.modifiedAt });
    expect(saved).toMatchObject({ status: 200, json: { saved: true, name: 'fan.yaml', version: 1 } });
    expect(readFileSync(join(rig.rulesDir, 'fan.yaml'), 'utf8')).toBe(edited);
    const stale = await call('PUT', '/fan.yaml', {
      text: FAN,
      baseModifiedAt: (json.modifiedAt as number) - 5000,
    });
    expect([stale.status, errorOf(stale.json).code]).toEqual([409, 'RULE_FILE_CHANGED']);
  });

  it('lists versions, shows one and restores it', async () => {
    const { rig, call } = await api();
    await call('PUT', '/fan.yaml', { text: FAN.replace('> 30', '> 25') });
    const versions = await call('GET', '/fan.yaml/versions');
    expect(versions).toMatchObject({
      status: 200,
      json: { versions: [{ version: 1, size: Buffer.byteLength(FAN) }] },
    });
    const one = await call('GET', '/fan.yaml/versions/1');
    expect(one).toMatchObject({ status: 200, json: { version: 1, text: FAN } });
    const none = await call('GET', '/fan.yaml/versions/7');
    expect([none.status, errorOf(none.json).code]).toEqual([404, 'RULE_FILE_UNKNOWN']);
    const restored = await call('POST', '/fan.yaml/restore', { version: 1 });
    expect(restored).toMatchObject({ status: 200, json: { saved: true, version: 2 } });
    expect(readFileSync(join(rig.rulesDir, 'fan.yaml'), 'utf8')).toBe(FAN);
  });

  it('answers a malformed body with 400 HTTP_BAD_REQUEST', async () => {
    const { call } = await api();
    for (const [method, path, body] of [
      ['PUT', '/fan.yaml', { baseModifiedAt: 1 }],
      ['PUT', '/fan.yaml', '{not json'],
      ['POST', '/validate', { name: 'fan.yaml' }],
      ['POST', '/fan.yaml/restore', { version: 'one' }],
    ] as const) {
      const res = await call(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(400);
      expect(errorOf(res.json).code).toBe('HTTP_BAD_REQUEST');
    }
    const version = await call('GET', '/fan.yaml/versions/x');
    expect([version.status, errorOf(version.json).code]).toEqual([400, 'HTTP_BAD_REQUEST']);
  });

  it('answers every route 404 RULES_DIR_NONE when no rules directory is configured', async () => {
    const { call } = await api({ noDir: true });
    for (const [method, path, body] of [
      ['GET', '', undefined],
      ['GET', '/fan.yaml', undefined],
      ['POST', '/validate', { name: 'fan.yaml', text: FAN }],
      ['POST', '/preview', { name: 'fan.yaml', text: FAN }],
      ['PUT', '/fan.yaml', { text: FAN }],
      ['GET', '/fan.yaml/versions', undefined],
      ['GET', '/fan.yaml/versions/1', undefined],
      ['POST', '/fan.yaml/restore', { version: 1 }],
    ] as const) {
      const res = await call(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(errorOf(res.json).code).toBe('RULES_DIR_NONE');
      expect(errorOf(res.json).message).toContain('rules_dir');
    }
  });

  it('documents every route in the OpenAPI document', async () => {
    const { rig } = await api();
    const doc = ruleFilesRoutes(rig.service).getOpenAPI31Document({
      openapi: '3.1.0',
      info: { title: 'edgehub', version: '0' },
    });
    expect(Object.keys(doc.paths ?? {}).sort()).toEqual([
      '/',
      '/preview',
      '/validate',
      '/{name}',
      '/{name}/restore',
      '/{name}/versions',
      '/{name}/versions/{version}',
    ]);
    expect(Object.keys(doc.paths?.['/{name}'] ?? {}).sort()).toEqual(['get', 'put']);
  });
});
