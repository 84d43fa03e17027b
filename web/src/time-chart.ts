// One time-series chart (uPlot) with the dashboard's look: theme colours from CSS variables, values
// formatted with units on the axis and in the hover legend, width following its container. Recreated
// on theme change (uPlot bakes colours into its canvas state).
import uPlot from 'uplot';
import { onThemeChange, palette } from './theme.ts';

export interface ChartSeries {
  label: string;
}

export interface TimeChartOptions {
  title: string;
  series: ChartSeries[];
  format: (value: number) => string;
  /** Fixed y range (percentages); otherwise 0 … max with headroom. */
  yMax?: number;
  /** Smallest top of an automatic y range, so a flat zero line gets sensible ticks (1 kB/s, load 1). */
  yMinTop?: number;
  height?: number;
  /** Hover legend shows "Core 3"-style short labels in a compact grid. */
  compactLegend?: boolean;
}

export interface TimeChart {
  readonly root: HTMLElement;
  setData(data: uPlot.AlignedData): void;
  destroy(): void;
}

const TIME_FMT = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function createTimeChart(container: HTMLElement, options: TimeChartOptions): TimeChart {
  const root = document.createElement('figure');
  root.className = 'chart';
  const caption = document.createElement('figcaption');
  caption.className = 'chart-title';
  caption.textContent = options.title;
  const holder = document.createElement('div');
  holder.className = options.compactLegend ? 'chart-plot compact-legend' : 'chart-plot';
  root.append(caption, holder);
  container.append(root);

  let data: uPlot.AlignedData = [[], ...options.series.map(() => [])];
  let plot: uPlot | undefined;

  const fmt = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : options.format(v));

  const build = () => {
    plot?.destroy();
    const pal = palette();
    const width = Math.max(200, holder.clientWidth || container.clientWidth || 300);
    const axis: uPlot.Axis = {
      stroke: pal.muted,
      grid: { stroke: pal.grid, width: 1 },
      ticks: { stroke: pal.grid, width: 1, size: 4 },
      font: '11px system-ui, sans-serif',
    };
    const opts: uPlot.Options = {
      width,
      height: options.height ?? 180,
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      legend: { show: true, live: true },
      scales: {
        // One sample has no width (uPlot would stretch the axis over a day in ms, i.e. years): show the
        // minute before it instead.
        x: {
          time: true,
          range: (u, min, max) => {
            const xs = u.data[0];
            return xs?.length === 1 ? [xs[0] - 60, xs[0] + 1] : [min, max];
          },
        },
        y: {
          range: (_u, _min, max) => {
            if (options.yMax !== undefined) return [0, options.yMax];
            const top = Number.isFinite(max) && max > 0 ? max * 1.15 : 0;
            return [0, Math.max(top, options.yMinTop ?? 1)];
          },
        },
      },
      axes: [
        { ...axis, space: 70 },
        { ...axis, size: 64, values: (_u, splits) => splits.map((v) => fmt(v)) },
      ],
      series: [
        {
          label: 'Time',
          value: (_u, v) => (v === null || v === undefined ? '–' : TIME_FMT.format(new Date(v * 1000))),
        },
        ...options.series.map((s, i) => ({
          label: s.label,
          stroke: pal.series[i % pal.series.length],
          width: 1.5,
          fill: options.series.length === 1 ? pal.series[0] + '22' : undefined,
          spanGaps: true,
          // Lines need two samples: mark the samples while there are only one or two.
          points: { show: (u: uPlot) => (u.data[0]?.length ?? 0) <= 2 },
          value: (_u: uPlot, v: number | null) => fmt(v),
        })),
      ],
    };
    opts.hooks = { setCursor: [(u) => showLatestUnlessHovering(u)] };
    plot = new uPlot(opts, data, holder);
    showLatestUnlessHovering(plot);
  };

  // The legend doubles as a readout: the latest values, or the values under the cursor while hovering.
  function showLatestUnlessHovering(u: uPlot): void {
    const n = u.data[0]?.length ?? 0;
    if (n > 0 && (u.cursor.idx === null || u.cursor.idx === undefined)) u.setLegend({ idx: n - 1 });
  }

  build();
  const resize = new ResizeObserver(() => {
    const w = holder.clientWidth;
    if (plot && w > 0 && Math.abs(plot.width - w) > 1) plot.setSize({ width: w, height: options.height ?? 180 });
  });
  resize.observe(holder);
  const offTheme = onThemeChange(build);

  return {
    root,
    setData(next) {
      data = next;
      root.dataset.points = String(next[0].length);
      root.dataset.firstMs = next[0].length > 0 ? String(Math.round(next[0][0] * 1000)) : '';
      if (plot) {
        plot.setData(next);
        showLatestUnlessHovering(plot);
      }
    },
    destroy() {
      resize.disconnect();
      offTheme();
      plot?.destroy();
      plot = undefined;
      root.remove();
    },
  };
}

