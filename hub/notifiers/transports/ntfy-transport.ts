import type { NotifierConfig } from '../config-schema.js';
import { headerText, postHttp, PRIORITY_LEVEL, type Delivery, type NotifierTransport } from '../transport.js';

type NtfyConfig = Extract<NotifierConfig, { type: 'ntfy' }>;

/**
 * ntfy (ntfy.sh or self-hosted): `POST {server}/{topic}` with the message as the body and Title,
 * Priority (1-5) and Tags headers; an access token goes as a Bearer token.
 */
export class NtfyTransport implements NotifierTransport {
  constructor(
    private readonly name: string,
    private readonly config: NtfyConfig,
    private readonly token: () => string | undefined,
  ) {}

  async send(delivery: Delivery, signal: AbortSignal): Promise<void> {
    const n = delivery.notification;
    const headers: Record<string, string> = {
      'content-type': 'text/plain; charset=utf-8',
      title: headerText(n.title),
      priority: String(PRIORITY_LEVEL[n.priority]),
    };
    if (n.tags.length > 0) headers.tags = headerText(n.tags.join(','));
    const token = this.token();
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const url = `${this.config.server.replace(/\/+$/, '')}/${this.config.topic}`;
    await postHttp(`ntfy ${this.name}`, url, { headers, body: n.message }, signal);
  }
}
