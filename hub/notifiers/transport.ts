import type { Notification, NotifyPriority } from '../../rules/index.js';

/** One notification on its way: its stored id and when it was taken (epoch ms on the hub clock). */
export interface Delivery {
  readonly id: number;
  readonly createdAt: number;
  readonly notification: Notification;
}

/**
 * One way of reaching people (ntfy, Telegram, a webhook, e-mail, MQTT): a single attempt. Timeouts,
 * retries, rate limits and quiet hours are the channel's; a transport only sends and says whether
 * trying again may help.
 */
export interface NotifierTransport {
  /** Resolves when the remote took it; rejects (ideally with {@link NotifyFailure}) otherwise. Stops when `signal` aborts. */
  send(delivery: Delivery, signal: AbortSignal): Promise<void>;
  /** Releases connections; idempotent. */
  close?(): void;
}

/** A failed attempt; `retryable` false when the remote refused for good (a 4xx, a bad login). */
export class NotifyFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'NotifyFailure';
  }
}

/** ntfy's numeric priorities, 1 (min) to 5 (urgent). */
export const PRIORITY_LEVEL: Readonly<Record<NotifyPriority, number>> = {
  min: 1,
  low: 2,
  default: 3,
  high: 4,
  urgent: 5,
};

/**
 * POSTs with Node's fetch and reads the answer: 2xx is done; 429 and 5xx may be retried, other
 * statuses not; a network error may be retried. `what` names the remote in errors instead of the
 * URL, which may hold a token (Telegram's does).
 */
export async function postHttp(
  what: string,
  url: string,
  init: { headers: Record<string, string>; body: string },
  signal: AbortSignal,
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: init.headers, body: init.body, signal });
  } catch (err) {
    if (signal.aborted) throw new NotifyFailure(`${what}: no answer in time`, true);
    const cause = (err as { cause?: { code?: unknown } }).cause;
    const code = typeof cause?.code === 'string' ? cause.code : 'network error';
    throw new NotifyFailure(`${what}: ${code}`, true);
  }
  // Read to the end, so the connection can be reused; a short excerpt goes into the outcome.
  const text = await response.text().catch(() => '');
  if (response.ok) return;
  const retryable = response.status === 429 || response.status >= 500;
  const excerpt = text.length > 200 ? `${text.slice(0, 200)}…` : text;
  throw new NotifyFailure(`${what}: HTTP ${response.status}${excerpt ? ` ${excerpt}` : ''}`, retryable);
}

/** A header value as RFC 2047 UTF-8 when it is not plain ASCII (ntfy decodes it; fetch refuses raw UTF-8). */
export function headerText(text: string): string {
  // Header values may not hold line breaks at all.
  const flat = text.replace(/[\r\n]+/g, ' ');
  return /^[\x20-\x7e]*$/.test(flat) ? flat : `=?UTF-8?B?${Buffer.from(flat, 'utf8').toString('base64')}?=`;
}
