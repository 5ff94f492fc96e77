import { EdgehubError, parseDuration, type Clock, type Logger, type Publisher } from '../../kernel/index.js';
import { systemTimeZone, type Notification, type Notifier, type NotifyReceipt } from '../../rules/index.js';
import { readSecret } from '../connectors/secrets.js';
import type { NotifierConfig } from './config-schema.js';
import type { DeliveryQuery, DeliveryRecord, DeliveryStore } from './delivery-store.js';
import { NotifierChannel, type ChannelStats } from './notifier-channel.js';
import type { NotifierTransport } from './transport.js';
import { EmailTransport } from './transports/email-transport.js';
import { MqttNotifyTransport } from './transports/mqtt-transport.js';
import { NtfyTransport } from './transports/ntfy-transport.js';
import { TelegramTransport } from './transports/telegram-transport.js';
import { WebhookTransport } from './transports/webhook-transport.js';

export interface NotifiersDeps {
  configs: Readonly<Record<string, NotifierConfig>>;
  clock: Clock;
  logger: Logger;
  /** The hub's broker, for `type: mqtt`. */
  publisher: Publisher;
  store: DeliveryStore;
  /** IANA zone of quiet hours (hub.timezone); the machine's when unset. */
  timezone: string | undefined;
  hubName: string;
}

/** The key of a type's secret, `<key>_file` / `<key>_env`. */
const SECRET_KEY = { ntfy: 'token', telegram: 'token', webhook: 'secret', email: 'password' } as const;

/**
 * The configured notifiers, as the rules' `notify:` and the alert routing use them: one
 * {@link NotifierChannel} each. Secrets are read when the notifiers start (a missing one stops the
 * hub with NOTIFIER_CREDENTIALS) and again for each attempt, so a rotated file is taken.
 */
export class Notifiers implements Notifier {
  private readonly channels = new Map<string, NotifierChannel>();
  private zone: string | undefined;

  constructor(private readonly deps: NotifiersDeps) {
    for (const [name, config] of Object.entries(deps.configs)) {
      this.channels.set(
        name,
        new NotifierChannel({
          name,
          settings: {
            timeoutMs: parseDuration(config.timeout),
            retries: config.retries,
            backoffMs: parseDuration(config.backoff),
            rate: { max: config.rate_limit.max, perMs: parseDuration(config.rate_limit.per) },
            quietHours: config.quiet_hours,
          },
          transport: this.transport(name, config),
          clock: deps.clock,
          logger: deps.logger,
          store: deps.store,
          timezone: () => (this.zone ??= deps.timezone ?? systemTimeZone()),
        }),
      );
    }
  }

  /** Checks every secret can be read, then sends what a restart left pending or held. */
  start(): void {
    for (const [name, config] of Object.entries(this.deps.configs)) this.secret(name, config);
    for (const record of this.deps.store.unfinished()) {
      const channel = this.channels.get(record.notifier);
      if (channel) channel.resume(record);
      else
        this.deps.store.update(record.id, {
          state: 'failed',
          attempts: record.attempts,
          error: `notifier ${record.notifier} is no longer configured`,
          at: this.deps.clock.now(),
        });
    }
  }

  notify(via: string, notification: Notification): Promise<NotifyReceipt> {
    const channel = this.channels.get(via);
    if (!channel) {
      const known = [...this.channels.keys()].join(', ') || 'none';
      return Promise.reject(
        new EdgehubError('NOTIFIER_UNKNOWN', `no notifier "${via}"; configured notifiers: ${known}`),
      );
    }
    try {
      return Promise.resolve(channel.accept(notification));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  names(): string[] {
    return [...this.channels.keys()];
  }

  stats(): ChannelStats[] {
    return [...this.channels.values()].map((c) => c.stats());
  }

  recent(query?: DeliveryQuery): DeliveryRecord[] {
    return this.deps.store.recent(query);
  }

  /** Resolves once no channel is sending or has anything queued (held ones aside). */
  async whenIdle(): Promise<void> {
    await Promise.all([...this.channels.values()].map((c) => c.whenIdle()));
  }

  /** Idempotent; the store is the caller's to close. */
  stop(): void {
    for (const channel of this.channels.values()) channel.stop();
  }

  private secret(name: string, config: NotifierConfig): string | undefined {
    if (config.type === 'mqtt') return undefined;
    const key = SECRET_KEY[config.type];
    const keys = config as unknown as Record<string, string | undefined>;
    return readSecret({
      owner: `notifier ${name}`,
      key,
      env: keys[`${key}_env`],
      file: keys[`${key}_file`],
      code: 'NOTIFIER_CREDENTIALS',
    });
  }

  private transport(name: string, config: NotifierConfig): NotifierTransport {
    const secret = (): string | undefined => this.secret(name, config);
    switch (config.type) {
      case 'ntfy':
        return new NtfyTransport(name, config, secret);
      case 'telegram':
        return new TelegramTransport(name, config, secret);
      case 'webhook':
        return new WebhookTransport(name, config, secret, this.deps.clock, this.deps.hubName);
      case 'email':
        return new EmailTransport(name, config, secret, parseDuration(config.timeout));
      case 'mqtt':
        return new MqttNotifyTransport(name, config, this.deps.publisher);
    }
  }
}
