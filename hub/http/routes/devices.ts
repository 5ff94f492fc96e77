import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { DeviceDefinition } from '../../../devices/index.js';
import { parseDuration, type DeviceView } from '../../../kernel/index.js';
import { requireRole, type ApiEnv } from '../api-env.js';
import type { HttpApiPorts } from '../ports.js';
import { failures, HttpProblem, json } from '../problem.js';
import {
  cursorParam,
  decodeCursor,
  DEFAULT_PAGE,
  encodeCursor,
  limitParam,
  MAX_PAGE,
  nextSchema,
} from '../query-params.js';

const STATUSES = ['unknown', 'online', 'offline', 'stale'] as const;

export const deviceSchema = z
  .object({
    id: z.string(),
    name: z.string().nullable(),
    status: z.enum(STATUSES),
    lastSeen: z.number().nullable(),
    state: z.record(z.string(), z.unknown()),
    updatedAt: z.record(z.string(), z.number()),
    sensors: z.array(
      z.object({ metric: z.string(), kind: z.string(), unit: z.string().nullable(), stale: z.boolean() }),
    ),
    actuators: z.array(z.object({ name: z.string(), kind: z.string() })),
    defined: z.boolean().openapi({ description: 'false for a device only seen on the wire' }),
  })
  .openapi('Device');

export type ApiDevice = z.infer<typeof deviceSchema>;

const deviceId = z.object({ id: z.string().min(1) });

const listDevices = createRoute({
  method: 'get',
  path: '/api/devices',
  tags: ['devices'],
  summary: 'Devices by id, with availability, last values and definition',
  request: {
    query: z.object({
      status: z.enum(STATUSES).optional(),
      limit: limitParam(DEFAULT_PAGE, MAX_PAGE),
      cursor: cursorParam,
    }),
  },
  responses: {
    200: json(z.object({ devices: z.array(deviceSchema), next: nextSchema }), 'one page of devices'),
    ...failures(400),
  },
});

const getDevice = createRoute({
  method: 'get',
  path: '/api/devices/{id}',
  tags: ['devices'],
  summary: 'One device',
  request: { params: deviceId },
  responses: { 200: json(deviceSchema, 'the device'), ...failures(404) },
});

const command = createRoute({
  method: 'post',
  path: '/api/devices/{id}/commands',
  tags: ['devices'],
  summary: "Sets actuators through the device's safety envelope; a refusal says why",
  middleware: [requireRole('operator')] as const,
  request: {
    params: deviceId,
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .object({
              set: z
                .record(z.string(), z.unknown())
                .refine((s) => Object.keys(s).length > 0, 'set names no actuator'),
            })
            .strict()
            .openapi({ example: { set: { fan: true } } }),
        },
      },
    },
  },
  responses: {
    200: json(z.object({ accepted: z.literal(true) }), 'sent to the device'),
    ...failures(400, 404, 409),
  },
});

/** `/api/devices…`: the registry's view of each device beside its definition, and commands. */
export function devicesRoutes(app: OpenAPIHono<ApiEnv>, ports: HttpApiPorts): void {
  const now = (): number => ports.now?.() ?? Date.now();

  app.openapi(listDevices, (c) => {
    const { status, limit, cursor } = c.req.valid('query');
    const after =
      cursor === undefined ? undefined : decodeCursor(cursor, (v): v is string => typeof v === 'string');
    const all = allDevices(ports, now()).filter(
      (d) => (status === undefined || d.status === status) && (after === undefined || d.id > after),
    );
    const page = all.slice(0, limit);
    const last = page.at(-1);
    return c.json({ devices: page, next: all.length > limit && last ? encodeCursor(last.id) : null }, 200);
  });

  app.openapi(getDevice, (c) => {
    const { id } = c.req.valid('param');
    return c.json(oneDevice(ports, id, now()), 200);
  });

  app.openapi(command, async (c) => {
    const { id } = c.req.valid('param');
    const { set } = c.req.valid('json');
    oneDevice(ports, id, now());
    if (!ports.command)
      throw new HttpProblem(409, 'COMMAND_REFUSED', 'this hub sends no commands to devices');
    const who = c.get('principal').user ?? 'local';
    const result = await ports.command(id, set, `http:${who}`);
    if (!result.accepted)
      throw new HttpProblem(409, 'COMMAND_REFUSED', result.reason ?? 'the device refused the command');
    return c.json({ accepted: true as const }, 200);
  });
}

function oneDevice(ports: HttpApiPorts, id: string, now: number): ApiDevice {
  const definition = ports.definitions?.().find((d) => d.id === id);
  const view = ports.devices.get(id);
  if (!definition && !view)
    throw new HttpProblem(404, 'DEVICE_UNKNOWN', `no device "${id}" is defined or was seen`);
  return apiDevice(id, view, definition, now);
}

/** Every device defined or seen, ordered by id. */
export function allDevices(ports: HttpApiPorts, now: number): ApiDevice[] {
  const definitions = new Map((ports.definitions?.() ?? []).map((d) => [d.id, d]));
  const views = new Map(ports.devices.list().map((v) => [v.id, v]));
  const ids = [...new Set([...definitions.keys(), ...views.keys()])].sort();
  return ids.map((id) => apiDevice(id, views.get(id), definitions.get(id), now));
}

/** A device as the API shows it; sensors of an undefined device are the metrics it reported. */
export function apiDevice(
  id: string,
  view: DeviceView | undefined,
  definition: DeviceDefinition | undefined,
  now: number,
): ApiDevice {
  const status = view?.status ?? 'unknown';
  const updatedAt = { ...(view?.updatedAt ?? {}) };
  const deviceStaleMs =
    definition?.stale_after === undefined ? undefined : parseDuration(definition.stale_after);
  const sensors = definition
    ? definition.sensors.map((s) => {
        const staleMs = s.stale_after === undefined ? deviceStaleMs : parseDuration(s.stale_after);
        const at = updatedAt[s.metric];
        return {
          metric: s.metric,
          kind: s.kind,
          unit: s.unit ?? null,
          stale: status === 'stale' || (staleMs !== undefined && at !== undefined && now - at > staleMs),
        };
      })
    : Object.keys(view?.state ?? {})
        .sort()
        .map((metric) => ({ metric, kind: 'generic', unit: null, stale: status === 'stale' }));
  return {
    id,
    name: definition?.name ?? null,
    status,
    lastSeen: view?.lastSeen ?? null,
    state: { ...(view?.state ?? {}) },
    updatedAt,
    sensors,
    actuators: (definition?.actuators ?? []).map((a) => ({ name: a.name, kind: a.kind })),
    defined: definition !== undefined,
  };
}

/** One device as the API shows it, for the live stream; null when it is neither defined nor seen. */
export function allDevicesView(ports: HttpApiPorts, id: string): ApiDevice | null {
  const definition = ports.definitions?.().find((d) => d.id === id);
  const view = ports.devices.get(id);
  if (!definition && !view) return null;
  return apiDevice(id, view, definition, ports.now?.() ?? Date.now());
}
