/** How values and times read on screen; pure, so tested without a browser. */

/** "12 s ago", "5 min ago", "3 h ago", "2 d ago"; `now` and `time` in epoch ms. */
export function ago(time: number | null | undefined, now: number): string {
  if (time === null || time === undefined) return 'never';
  const s = Math.round((now - time) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** A local date and time to the second, `2026-12-07 12:20:11`. */
export function dateTime(time: number | null | undefined): string {
  if (time === null || time === undefined) return '—';
  const d = new Date(time);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A reading as a person reads it: numbers to at most 2 decimals with their unit, objects compact. */
export function reading(value: unknown, unit?: string | null): string {
  const v = valueOf(value);
  if (v === undefined || v === null) return '—';
  if (typeof v === 'number') {
    const text = Number.isInteger(v)
      ? String(v)
      : v.toFixed(Math.abs(v) >= 100 ? 1 : 2).replace(/\.?0+$/, '');
    return unit ? `${text} ${unit}` : text;
  }
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'string') return unit ? `${v} ${unit}` : v;
  return compactJson(v);
}

/** `{ value: 21.5, unit: '°C' }` → 21.5; a bare value stays. */
export function valueOf(payload: unknown): unknown {
  if (payload !== null && typeof payload === 'object' && 'value' in payload) return payload.value;
  return payload;
}

/** A payload on one line, cut at `max` characters. */
export function compactJson(value: unknown, max = 120): string {
  let text: string;
  try {
    text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Whether a state value means "on" for a switch-like actuator (`true`, `"on"`, `{on: true}`, 1). */
export function isOn(value: unknown): boolean {
  const v = value !== null && typeof value === 'object' && 'on' in value ? value.on : valueOf(value);
  return v === true || v === 1 || v === 'on' || v === 'ON' || v === 'true';
}

/** A number in [0, 100] for a dimmer's state (`42`, `{ level: 42 }`, `{ brightness: 42 }`), else 0. */
export function levelOf(value: unknown): number {
  let v: unknown = valueOf(value);
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    v = o.level ?? o.brightness ?? o.value;
  }
  return typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.min(100, v)) : 0;
}

/** Bytes as KiB/MiB with one decimal. */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
