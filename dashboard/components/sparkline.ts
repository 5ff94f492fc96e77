import { html } from '../html.js';

/** Points of an SVG polyline scaled into `width` × `height` (px); pure, for the tests. */
export function sparklinePoints(values: readonly number[], width: number, height: number): string {
  if (values.length === 0) return '';
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const span = max - min || 1;
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  // One px of margin top and bottom, so a flat line at the extreme stays visible.
  return values
    .map((v, i) => `${(i * step).toFixed(1)},${(1 + (height - 2) * (1 - (v - min) / span)).toFixed(1)}`)
    .join(' ');
}

/** A tiny inline chart of recent readings; SVG, so no chart library is loaded for the devices page. */
export function Sparkline({ values, label }: { values: readonly number[]; label: string }) {
  const width = 120;
  const height = 28;
  if (values.length < 2) return html`<span class="sparkline-none muted">no history yet</span>`;
  return html`<svg
    class="sparkline"
    viewBox="0 0 ${width} ${height}"
    preserveAspectRatio="none"
    width=${width}
    height=${height}
    role="img"
    aria-label=${label}
  >
    <polyline points=${sparklinePoints(values, width, height)} />
  </svg>`;
}
