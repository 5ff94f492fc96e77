import { errorMessage, type Logger, type TypedBus } from '../kernel/index.js';
import type { RuleEngine } from '../rules/index.js';
import type { ConnectorEvent } from './connectors/index.js';
import type { HubEvents } from './events.js';

/** On the bus and to the rules (`event: connector.down`); a dropped backlog also raises an alert. */
export function onConnectorEvent(
  event: ConnectorEvent,
  bus: TypedBus<HubEvents>,
  rules: RuleEngine,
  logger: Logger,
): void {
  bus.emit(event.name, event.data);
  rules.handleEvent(event.name, event.data);
  const { id } = event.data;
  const raise = (key: string, severity: 'major' | 'minor', message: string): void => {
    rules.alerts
      .raise({ key, severity, message, source: `connector:${id}` })
      .catch((err: unknown) => logger.warn('raising an alert failed', { error: errorMessage(err) }));
  };
  if (event.name === 'connector.backlog')
    raise(
      `connectors/${id}/backlog`,
      'major',
      `connector ${id} dropped ${event.data.dropped} messages at its backlog bound`,
    );
  else if (event.name === 'connector.down')
    raise(`connectors/${id}/down`, 'minor', `connector ${id} is down: ${event.data.error ?? 'unknown'}`);
  else
    rules.alerts
      .clear(`connectors/${id}/down`)
      .catch((err: unknown) => logger.warn('clearing an alert failed', { error: errorMessage(err) }));
}
