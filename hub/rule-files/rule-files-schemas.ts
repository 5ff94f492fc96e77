import { z } from '@hono/zod-openapi';

/** What `/api/rule-files` takes and answers; the OpenAPI document is made from these. */

export const Problem = z
  .object({
    code: z.string().openapi({ example: 'RULE_DUPLICATE_ID' }),
    severity: z.enum(['error', 'warning']),
    file: z.string().nullable().openapi({ description: 'the file in the rules directory; null for none' }),
    line: z.number().int().openapi({ description: '1-based' }),
    col: z.number().int(),
    path: z.string().openapi({ example: 'rules[0].when.mqtt' }),
    message: z.string(),
    text: z
      .string()
      .openapi({ description: '`file:line:col key.path: message`, as `edgehub check` prints it' }),
  })
  .openapi('RuleFileProblem');

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'RULE_FILE_UNKNOWN' }),
      message: z.string(),
      problems: z.array(Problem).optional(),
    }),
  })
  .openapi('Error');

const RuleProblem = z.object({
  code: z.string(),
  file: z.string().nullable(),
  line: z.number().nullable(),
  col: z.number().nullable(),
  path: z.string(),
  message: z.string(),
});

const RulesStatus = z
  .object({
    ok: z.boolean(),
    rules: z.number().int(),
    errors: z.array(RuleProblem),
    warnings: z.array(RuleProblem),
    at: z.number(),
  })
  .openapi('RulesStatus');

export const FileName = z.object({
  name: z.string().openapi({ param: { name: 'name', in: 'path' }, example: 'greenhouse.yaml' }),
});

export const VersionParams = FileName.extend({
  version: z.coerce
    .number()
    .int()
    .positive()
    .openapi({ param: { name: 'version', in: 'path' }, example: 3 }),
});

export const FileList = z
  .object({
    dir: z.string(),
    files: z.array(
      z.object({
        name: z.string(),
        size: z.number().int(),
        modifiedAt: z.number().int(),
        rules: z.array(z.string()),
      }),
    ),
  })
  .openapi('RuleFileList');

export const FileText = z
  .object({ name: z.string(), text: z.string(), modifiedAt: z.number().int() })
  .openapi('RuleFile');

/** A rule file is small; this bounds what one edit may hold, in characters. */
const MAX_TEXT = 1_000_000;

export const ValidateBody = z
  .object({ name: z.string(), text: z.string().max(MAX_TEXT) })
  .openapi('RuleFileEdit');

export const Validation = z
  .object({ ok: z.boolean(), problems: z.array(Problem) })
  .openapi('RuleFileValidation');

const When = z
  .union([z.number(), z.string()])
  .optional()
  .openapi({ description: 'epoch ms, an ISO 8601 time or a duration back from now (24h)' });

export const PreviewBody = ValidateBody.extend({ since: When, until: When }).openapi(
  'RuleFilePreviewRequest',
);

const Firing = z
  .object({
    time: z.number(),
    ruleId: z.string(),
    topic: z.string(),
    device: z.string().nullable(),
    readings: z.record(z.string(), z.unknown()),
    actions: z.array(z.string()),
  })
  .openapi('Firing');

const Side = z.object({
  fired: z.number().int(),
  rules: z.number().int(),
  firings: z.array(Firing).openapi({ description: 'the first 500, oldest first; `fired` counts all' }),
});

export const Preview = z
  .object({
    ok: z.boolean(),
    problems: z.array(Problem),
    since: z.number(),
    until: z.number(),
    edited: Side,
    inForce: Side,
    diff: z.object({
      added: z.array(z.string()),
      removed: z.array(z.string()),
      changed: z.array(z.string()),
    }),
    loops: z.array(z.string()),
  })
  .openapi('RuleFilePreview');

export const SaveBody = z
  .object({
    text: z.string().max(MAX_TEXT),
    baseModifiedAt: z
      .number()
      .optional()
      .openapi({ description: 'the modifiedAt the edit started from; a file changed since is refused' }),
  })
  .openapi('RuleFileSave');

export const Saved = z
  .object({
    saved: z.literal(true),
    name: z.string(),
    modifiedAt: z.number().int(),
    version: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'the version the replaced text is kept as; null for a new or unchanged file' }),
    status: RulesStatus.optional(),
  })
  .openapi('RuleFileSaved');

export const VersionList = z
  .object({
    versions: z.array(
      z.object({
        version: z.number().int(),
        savedAt: z.number(),
        replacedAt: z.number(),
        size: z.number().int(),
      }),
    ),
  })
  .openapi('RuleFileVersions');

export const Version = z
  .object({ version: z.number().int(), savedAt: z.number(), replacedAt: z.number(), text: z.string() })
  .openapi('RuleFileVersion');

export const RestoreBody = z.object({ version: z.number().int().positive() }).openapi('RuleFileRestore');
