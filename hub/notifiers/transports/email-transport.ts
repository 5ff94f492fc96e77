import { readFileSync } from 'node:fs';
import type { Transporter } from 'nodemailer';
import { EdgehubError } from '../../../kernel/index.js';
import type { NotifierConfig } from '../config-schema.js';
import { NotifyFailure, type Delivery, type NotifierTransport } from '../transport.js';

type EmailConfig = Extract<NotifierConfig, { type: 'email' }>;

const DEFAULT_PORT = { starttls: 587, tls: 465, none: 25 } as const;

/**
 * E-mail over SMTP with nodemailer: STARTTLS required (`starttls`, port 587), TLS from the start
 * (`tls`, 465) or plain (`none`, a relay on loopback); AUTH when a username is configured. One
 * connection per message: notifications are few, and an idle connection would only time out.
 */
export class EmailTransport implements NotifierTransport {
  private transporter: Transporter | undefined;

  constructor(
    private readonly name: string,
    private readonly config: EmailConfig,
    private readonly password: () => string | undefined,
    /** Per attempt, ms: nodemailer's own connection, greeting and socket timeouts. */
    private readonly timeoutMs: number,
  ) {}

  async send(delivery: Delivery, signal: AbortSignal): Promise<void> {
    const n = delivery.notification;
    const transporter = await this.connect();
    const sending = transporter.sendMail({
      from: this.config.from,
      to: this.config.to,
      subject: n.title,
      text: n.message,
      priority:
        n.priority === 'high' || n.priority === 'urgent'
          ? 'high'
          : n.priority === 'default'
            ? 'normal'
            : 'low',
      headers: { 'x-edgehub-source': n.source },
    });
    const aborted = new Promise<never>((_resolve, reject) => {
      const fail = (): void => reject(new NotifyFailure(`email ${this.name}: no answer in time`, true));
      if (signal.aborted) fail();
      else signal.addEventListener('abort', fail, { once: true });
    });
    try {
      await Promise.race([sending, aborted]);
    } catch (err) {
      if (err instanceof NotifyFailure) {
        sending.catch(() => undefined);
        throw err;
      }
      throw smtpFailure(this.name, err);
    }
  }

  close(): void {
    this.transporter?.close();
    this.transporter = undefined;
  }

  /** nodemailer loads on the first mail: a hub that sends none never loads it. */
  private async connect(): Promise<Transporter> {
    if (this.transporter) return this.transporter;
    const c = this.config;
    const password = this.password();
    let ca: Buffer | undefined;
    if (c.ca !== undefined) {
      try {
        ca = readFileSync(c.ca);
      } catch (err) {
        throw new EdgehubError(
          'NOTIFIER_CREDENTIALS',
          `notifier ${this.name}: cannot read ca ${c.ca}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
    }
    const { createTransport } = await import('nodemailer');
    this.transporter = createTransport({
      host: c.host,
      port: c.port ?? DEFAULT_PORT[c.security],
      secure: c.security === 'tls',
      requireTLS: c.security === 'starttls',
      ignoreTLS: c.security === 'none',
      ...(c.username !== undefined && { auth: { user: c.username, pass: password ?? '' } }),
      ...(ca && { tls: { ca } }),
      connectionTimeout: this.timeoutMs,
      greetingTimeout: this.timeoutMs,
      socketTimeout: this.timeoutMs,
      // nodemailer would otherwise log the SMTP dialogue, AUTH included, at its debug level.
      logger: false,
      debug: false,
    });
    return this.transporter;
  }
}

/** An SMTP 5xx answer or a refused login is final; a 4xx or a lost connection may pass later. */
function smtpFailure(name: string, err: unknown): NotifyFailure {
  const e = err as { code?: string; responseCode?: number; message?: string };
  const status = e.responseCode;
  const permanent = e.code === 'EAUTH' || (status !== undefined && status >= 500);
  const detail = status !== undefined ? `SMTP ${status}` : (e.code ?? 'error');
  // nodemailer's message carries the server's answer; an AUTH failure's never holds the password.
  const text = (e.message ?? '').split('\n', 1)[0] ?? '';
  return new NotifyFailure(`email ${name}: ${detail} ${text}`.trim(), !permanent);
}
