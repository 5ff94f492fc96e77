import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from '../html.js';
import type { HistoryPoint } from '../types.js';

/** uPlot's data: time in s, then avg, min and max per bucket. */
export function chartData(points: readonly HistoryPoint[]): uPlot.AlignedData {
  return [
    points.map((p) => p.t / 1000),
    points.map((p) => p.avg),
    points.map((p) => p.min),
    points.map((p) => p.max),
  ];
}

/**
 * One metric over time; dragging across it selects a range, which `onZoom` gets in epoch ms (the page
 * then asks the hub for that range at full resolution instead of stretching the coarse buckets).
 */
export function HistoryChart({
  points,
  since,
  until,
  label,
  unit,
  onZoom,
}: {
  points: readonly HistoryPoint[];
  /** The range asked for, epoch ms: the x axis spans it, however few buckets hold readings. */
  since: number;
  until: number;
  label: string;
  unit: string | null;
  onZoom: (since: number, until: number) => void;
}) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
    const axis = { stroke: dark ? '#c9d1d9' : '#333', grid: { stroke: dark ? '#30363d' : '#e5e5e5' } };
    const plot = new uPlot(
      {
        width: Math.max(280, el.clientWidth),
        height: 260,
        // uPlot's time scale is in seconds; without a fixed range one bucket would span years.
        scales: { x: { time: true, range: () => [since / 1000, until / 1000] } },
        series: [
          {},
          {
            label: `${label} avg`,
            stroke: '#2f81f7',
            width: 2,
            value: (_u, v) => (v === null ? '—' : `${v.toFixed(2)}${unit ? ` ${unit}` : ''}`),
          },
          { label: 'min', stroke: '#8b949e', dash: [4, 4] },
          { label: 'max', stroke: '#f85149', dash: [4, 4] },
        ],
        axes: [axis, { ...axis, label: unit ?? '' }],
        cursor: { drag: { x: true, y: false, setScale: false } },
        hooks: {
          setSelect: [
            (u) => {
              if (u.select.width < 5) return;
              const since = u.posToVal(u.select.left, 'x') * 1000;
              const until = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              onZoom(Math.round(since), Math.round(until));
            },
          ],
        },
      },
      chartData(points),
      el,
    );
    const resize = new ResizeObserver(() =>
      plot.setSize({ width: Math.max(280, el.clientWidth), height: 260 }),
    );
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [points, since, until, label, unit, onZoom]);
  return html`<div class="chart" ref=${box} data-chart=${label} data-span-ms=${until - since}></div>`;
}
