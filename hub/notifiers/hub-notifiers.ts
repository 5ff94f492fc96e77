import { resolve } from 'node:path';
import type { Clock, Logger, Publisher } from '../../kernel/index.js';
import type { AlertBook } from '../../rules/index.js';
import type { HubConfig } from '../config/schema.js';
import { AlertRouter } from './alert-router.js';
import { DeliveryStore } from './delivery-store.js';
import { Notifiers } from './notifiers.js';

/** The notifiers of a running hub, the alert routing over them, and how to stop both. */
export interface HubNotifiers {
  readonly notifiers: Notifiers;
  readonly router: AlertRouter;
  stop(): void;
}

/**
 * Opens `<data_dir>/notifications.db`, starts the configured notifiers (secrets checked, deliveries
 * left by a restart resumed) and the alert routing; undefined when no notifier is configured.
 */
export function startHubNotifiers(deps: {
  config: Readonly<HubConfig>;
  clock: Clock;
  logger: Logger;
  publisher: Publisher;
  alerts: AlertBook;
}): HubNotifiers | undefined {
  const { config, clock, logger } = deps;
  if (Object.keys(config.notifiers).length === 0) return undefined;
  const store = DeliveryStore.open(resolve(config.hub.data_dir));
  const notifiers = new Notifiers({
    configs: config.notifiers,
    clock,
    logger,
    publisher: deps.publisher,
    store,
    timezone: config.hub.timezone,
    hubName: config.hub.name,
  });
  try {
    notifiers.start();
  } catch (err) {
    notifiers.stop();
    store.close();
    throw err;
  }
  const router = new AlertRouter({
    routing: config.alerts,
    notifier: notifiers,
    alerts: deps.alerts,
    clock,
    logger,
  });
  router.start();
  return {
    notifiers,
    router,
    stop: () => {
      router.stop();
      notifiers.stop();
      store.close();
    },
  };
}
