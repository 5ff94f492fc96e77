import type { ComponentChildren } from 'preact';
import { html } from '../html.js';

export function Loading({ what }: { what: string }) {
  return html`<p class="muted loading" role="status">Loading ${what}…</p>`;
}

export function ErrorBox({ message, retry }: { message: string; retry?: () => void }) {
  return html`<div class="error-box" role="alert">
    <strong>Something went wrong.</strong> ${message}
    ${retry && html` <button type="button" class="link" onClick=${retry}>Try again</button>`}
  </div>`;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return html`<div class="empty">${children}</div>`;
}
