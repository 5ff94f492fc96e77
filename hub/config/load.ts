import { readFileSync } from 'node:fs';
import { EdgehubError, EdgehubErrors, YamlSource } from '../../kernel/index.js';
import { configSchema, type HubConfig } from './schema.js';

/** Settings given on the command line; they override the file. */
export interface ConfigOverrides {
  rulesDir?: string;
  dataDir?: string;
  mqttPort?: number;
  wsPort?: number | null;
  /**
   * The HTTP API's port; null turns it off. When unset and `mqttPort` is 0 (tests, benchmarks,
   * several hubs on one machine), the API takes a free port too instead of its fixed default.
   */
  httpPort?: number | null;
  host?: string;
  demo?: boolean;
}

/** Reads and validates a config file; without a file, every default applies. */
export function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Readonly<HubConfig> {
  let raw: unknown = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new EdgehubError(
        'CONFIG_NOT_FOUND',
        `cannot read config file ${file}: ${(err as Error).message}`,
      );
    }
    const source = YamlSource.parse(file, text, 'CONFIG_INVALID');
    raw = source.toJS() ?? {};
    const result = source.validate(configSchema, 'CONFIG_INVALID');
    if ('errors' in result) throw new EdgehubErrors('CONFIG_INVALID', result.errors);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new EdgehubError('CONFIG_INVALID', parsed.error.message);
  return deepFreeze(applyOverrides(parsed.data, overrides));
}

function applyOverrides(config: HubConfig, o: ConfigOverrides): HubConfig {
  const out = structuredClone(config);
  if (o.rulesDir !== undefined) out.hub.rules_dir = o.rulesDir;
  if (o.dataDir !== undefined) out.hub.data_dir = o.dataDir;
  if (o.mqttPort !== undefined) out.mqtt.port = o.mqttPort;
  if (o.wsPort !== undefined) out.mqtt.ws_port = o.wsPort;
  if (o.httpPort !== undefined) out.http.port = o.httpPort;
  else if (o.mqttPort === 0 && out.http.port !== null) out.http.port = 0;
  if (o.host !== undefined) out.mqtt.host = o.host;
  if (o.demo !== undefined) out.demo = o.demo;
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
