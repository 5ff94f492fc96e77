import { EdgehubError } from '../../../kernel/index.js';
import type { NotifierConfig } from '../config-schema.js';
import { postHttp, type Delivery, type NotifierTransport } from '../transport.js';

type TelegramConfig = Extract<NotifierConfig, { type: 'telegram' }>;

/**
 * The Telegram Bot API: `POST {api_base}/bot{token}/sendMessage` with `{ chat_id, text }`; `min`
 * and `low` priorities arrive silently. The token is in the URL, so errors never show the URL.
 */
export class TelegramTransport implements NotifierTransport {
  constructor(
    private readonly name: string,
    private readonly config: TelegramConfig,
    private readonly token: () => string | undefined,
  ) {}

  async send(delivery: Delivery, signal: AbortSignal): Promise<void> {
    const n = delivery.notification;
    const token = this.token();
    if (token === undefined)
      throw new EdgehubError('NOTIFIER_CREDENTIALS', `notifier ${this.name}: no bot token`);
    const body: Record<string, unknown> = {
      chat_id: this.config.chat_id,
      text: n.title === '' ? n.message : `${n.title}\n${n.message}`,
    };
    if (n.priority === 'min' || n.priority === 'low') body.disable_notification = true;
    const url = `${this.config.api_base.replace(/\/+$/, '')}/bot${token}/sendMessage`;
    await postHttp(
      `telegram ${this.name}`,
      url,
      { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      signal,
    );
  }
}
