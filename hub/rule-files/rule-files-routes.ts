import { createRoute, OpenAPIHono, type z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { EdgehubError, errorMessage } from '../../kernel/index.js';
import { RulesInvalidError, type RuleFiles } from './rule-files.js';
import {
  ErrorBody,
  FileList,
  FileName,
  FileText,
  Preview,
  PreviewBody,
  RestoreBody,
  SaveBody,
  Saved,
  Validation,
  ValidateBody,
  Version,
  VersionList,
  VersionParams,
} from './rule-files-schemas.js';

/** HTTP status per error code of the rule-file service; anything else is the hub's fault (500). */
const STATUS: Readonly<Record<string, ContentfulStatusCode>> = {
  RULES_DIR_NONE: 404,
  RULE_FILE_UNKNOWN: 404,
  RULE_FILE_NAME: 400,
  HTTP_BAD_REQUEST: 400,
  RULE_FILE_CHANGED: 409,
  RULE_PREVIEW_NO_EVENTS: 409,
  RULES_INVALID: 422,
};

type ErrorJson = z.infer<typeof ErrorBody>;

const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

const body = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

const errors = (...codes: number[]) =>
  Object.fromEntries(codes.map((code) => [code, json(ErrorBody, ERROR_TEXT[code] ?? 'error')]));

const ERROR_TEXT: Record<number, string> = {
  400: 'HTTP_BAD_REQUEST, RULE_FILE_NAME',
  404: 'RULES_DIR_NONE, RULE_FILE_UNKNOWN',
  409: 'RULE_FILE_CHANGED, RULE_PREVIEW_NO_EVENTS',
  422: 'RULES_INVALID, with the problems',
  500: 'RULE_FILE_WRITE_FAILED and other failures of the hub',
};

const tags = ['rule files'];

const routes = {
  list: createRoute({
    method: 'get',
    path: '/',
    tags,
    summary: 'the rule files of the rules directory',
    responses: { 200: json(FileList, 'the files'), ...errors(404, 500) },
  }),
  validate: createRoute({
    method: 'post',
    path: '/validate',
    tags,
    summary: 'validates the whole rules directory with one file replaced by an edit',
    request: body(ValidateBody),
    responses: { 200: json(Validation, 'the problems, if any'), ...errors(400, 404, 500) },
  }),
  preview: createRoute({
    method: 'post',
    path: '/preview',
    tags,
    summary: 'back-tests an edit and the rules in force over the stored events (default: the last 24 h)',
    request: body(PreviewBody),
    responses: { 200: json(Preview, 'what each set would have done'), ...errors(400, 404, 409, 500) },
  }),
  read: createRoute({
    method: 'get',
    path: '/{name}',
    tags,
    summary: 'one rule file',
    request: { params: FileName },
    responses: { 200: json(FileText, 'the file'), ...errors(400, 404, 500) },
  }),
  save: createRoute({
    method: 'put',
    path: '/{name}',
    tags,
    summary: 'saves a rule file atomically when the rules directory loads with it; the previous text is kept',
    request: { params: FileName, ...body(SaveBody) },
    responses: { 200: json(Saved, 'saved and reloaded'), ...errors(400, 404, 409, 422, 500) },
  }),
  versions: createRoute({
    method: 'get',
    path: '/{name}/versions',
    tags,
    summary: 'the kept versions of a rule file, newest first',
    request: { params: FileName },
    responses: { 200: json(VersionList, 'the versions'), ...errors(400, 404, 500) },
  }),
  version: createRoute({
    method: 'get',
    path: '/{name}/versions/{version}',
    tags,
    summary: 'one kept version',
    request: { params: VersionParams },
    responses: { 200: json(Version, 'the version'), ...errors(400, 404, 500) },
  }),
  restore: createRoute({
    method: 'post',
    path: '/{name}/restore',
    tags,
    summary: 'saves a kept version again (checked like any save)',
    request: { params: FileName, ...body(RestoreBody) },
    responses: { 200: json(Saved, 'restored and reloaded'), ...errors(400, 404, 409, 422, 500) },
  }),
};

/** `{ error: { code, message } }` and its status for anything a handler threw. */
export function errorResponse(err: unknown): { status: ContentfulStatusCode; body: ErrorJson } {
  if (err instanceof EdgehubError) {
    const status = STATUS[err.code] ?? 500;
    const problems = err instanceof RulesInvalidError ? { problems: [...err.problems] } : {};
    return { status, body: { error: { code: err.code, message: err.message, ...problems } } };
  }
  // hono's own refusals: a body that is not JSON, one over a body limit.
  if (err instanceof HTTPException) {
    const code =
      err.status === 400 ? 'HTTP_BAD_REQUEST' : err.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'HTTP_ERROR';
    return { status: err.status, body: { error: { code, message: err.message } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: errorMessage(err) } } };
}

/**
 * The service's results as the response schema's type: they differ only in being `readonly`, which
 * the schema's inferred types are not.
 */
function mutable<S extends z.ZodType>(value: Frozen<z.infer<S>>): z.infer<S> {
  return value as z.infer<S>;
}

/** `T` with every array and object `readonly`, as the service hands its results out. */
type Frozen<T> = T extends readonly (infer U)[]
  ? readonly Frozen<U>[]
  : T extends object
    ? { readonly [K in keyof T]: Frozen<T[K]> }
    : T;

function fail(c: Context, err: unknown): Response {
  const { status, body } = errorResponse(err);
  return c.json(body, status);
}

/**
 * `/api/rule-files` as a sub-app (mounted by the hub's HTTP server behind its authentication:
 * GET for viewers, everything else for admins). Bodies and parameters are checked by the schemas;
 * every failure is `{ error: { code, message } }`, a refused save's problems inside the error.
 */
export function ruleFilesRoutes(
  service: RuleFiles,
  /** Runs before every route (the API's role check for changes). */
  guard?: MiddlewareHandler,
): OpenAPIHono {
  const app = new OpenAPIHono({
    defaultHook: (result, c) => {
      if (result.success) return undefined;
      const message = result.error.issues
        .map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`)
        .join('; ');
      return c.json({ error: { code: 'HTTP_BAD_REQUEST', message } } satisfies ErrorJson, 400);
    },
  });
  // Also in force once mounted: hono runs a sub-app's own error handler around its routes.
  app.onError((err, c) => fail(c, err));
  if (guard) app.use('*', guard);

  app.openapi(routes.list, async (c) => {
    return c.json(mutable<typeof FileList>(await service.list()), 200);
  });
  app.openapi(routes.validate, async (c) => {
    const { name, text } = c.req.valid('json');
    const result = await service.validate(name, text);
    return c.json(mutable<typeof Validation>(result), 200);
  });
  app.openapi(routes.preview, async (c) => {
    const request = c.req.valid('json');
    return c.json(mutable<typeof Preview>(await service.preview(request)), 200);
  });
  app.openapi(routes.read, async (c) => {
    return c.json(await service.read(c.req.valid('param').name), 200);
  });
  app.openapi(routes.save, async (c) => {
    const { text, baseModifiedAt } = c.req.valid('json');
    const saved = await service.save(c.req.valid('param').name, text, baseModifiedAt);
    return c.json(mutable<typeof Saved>(saved), 200);
  });
  app.openapi(routes.versions, (c) => {
    return c.json(service.versions(c.req.valid('param').name), 200);
  });
  app.openapi(routes.version, (c) => {
    const { name, version } = c.req.valid('param');
    const kept = service.version(name, version);
    return c.json(
      { version: kept.version, savedAt: kept.savedAt, replacedAt: kept.replacedAt, text: kept.text },
      200,
    );
  });
  app.openapi(routes.restore, async (c) => {
    const { version } = c.req.valid('json');
    return c.json(mutable<typeof Saved>(await service.restore(c.req.valid('param').name, version)), 200);
  });
  return app;
}
