/**
 * mqtt-packet, which parses and writes every MQTT packet for aedes and for mqtt.js, logs through the
 * `debug` package about 40 times per message routed. A disabled `debug` logger still gathers each
 * call's arguments into an array and reads a getter: in the pipeline benchmark that was a tenth of
 * everything the broker allocated and a sixth of its throughput. So when DEBUG is unset (the only
 * time those loggers are all off, since `debug` reads DEBUG once at load), this module puts a
 * `debug` whose loggers are empty functions into the module cache, before mqtt-packet loads it.
 * With DEBUG set, the real package loads and logs as usual.
 *
 * Imported first by the hub's entry points; importing it after `debug` has loaded changes nothing.
 */
import { createRequire } from 'node:module';

const noop = (): void => undefined;

interface QuietDebugger {
  (...args: unknown[]): void;
  namespace: string;
  enabled: boolean;
  log: () => void;
  extend: (sub: string, delimiter?: string) => QuietDebugger;
  destroy: () => boolean;
}

function createDebug(namespace: string): QuietDebugger {
  const logger: QuietDebugger = Object.assign(() => undefined, {
    namespace,
    enabled: false,
    log: noop,
    extend: (sub: string, delimiter = ':') => createDebug(`${namespace}${delimiter}${sub}`),
    destroy: () => false,
  });
  return logger;
}

// The rest of the `debug` API, for a dependency that configures it.
Object.assign(createDebug, {
  debug: createDebug,
  default: createDebug,
  enable: noop,
  disable: () => '',
  enabled: () => false,
  coerce: (value: unknown) => value,
  humanize: (ms: number) => `${ms}ms`,
  selectColor: () => 0,
  formatters: {},
  names: [],
  skips: [],
  log: noop,
});

if (!process.env.DEBUG) {
  const require = createRequire(import.meta.url);
  let path: string | undefined;
  try {
    path = require.resolve('debug');
  } catch {
    // Not installed: nothing to quiet.
  }
  if (path !== undefined && !(path in require.cache)) {
    require.cache[path] = {
      id: path,
      filename: path,
      loaded: true,
      exports: createDebug,
    } as unknown as NodeJS.Module;
  }
}
