// One time-series chart (uPlot) with the dashboard's look: theme colours from CSS variables, values
// formatted with units on the axis and in the hover legend, width following its container. Recreated
// on theme change (uPlot bakes colours into its canvas state).
// The x axis spans the time range it is given (data may fill only part of it); null values break the
// line (gaps are drawn as gaps). Dragging across the plot selects a time span: it is reported through
// onZoom (the page zooms every chart alike) and a "Reset zoom" button brings the range back.
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
  /** A span was dragged across the plot ([fromMs, toMs]), or the zoom was reset (undefined). */
  onZoom?: (range: [number, number] | undefined) => void;
}

export interface TimeChart {
  readonly root: HTMLElement;
  /** New data; `rangeMs` is the time span the x axis shows when not zoomed ([fromMs, toMs]). */
  setData(data: uPlot.AlignedData, rangeMs?: [number, number]): void;
  /** Shows only [fromMs, toMs] of the range, or all of it again (undefined). */
  setZoom(range: [number, number] | undefined): void;
  destroy(): void;
}

const TIME_FMT = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function createTimeChart(container: HTMLElement, options: TimeChartOptions): TimeChart {
  const root = document.createElement('figure');
  root.className = 'chart';
  const caption = document.createElement('figcaption');
  caption.className = 'chart-title';
  caption.textContent = options.title;
  const reset = document.createElement('button');
  reset.type = 'button';
  reset.className = 'small-button chart-reset';
  reset.textContent = 'Reset zoom';
  reset.hidden = true;
  reset.addEventListener('click', () => (options.onZoom ? options.onZoom(undefined) : setZoom(undefined)));
  const head = document.createElement('div');
  head.className = 'chart-head';
  head.append(caption, reset);
  const holder = document.createElement('div');
  holder.className = options.compactLegend ? 'chart-plot compact-legend' : 'chart-plot';
  root.append(head, holder);
  container.append(root);

  let data: uPlot.AlignedData = [[], ...options.series.map(() => [])];
  let plot: uPlot | undefined;
  /** The x span shown (seconds): the zoom, else the given range, else the data's own. */
  let rangeS: [number, number] | undefined;
  let zoomS: [number, number] | undefined;

  function setZoom(range: [number, number] | undefined): void {
    zoomS = range ? [range[0] / 1000, range[1] / 1000] : undefined;
    reset.hidden = zoomS === undefined;
    root.dataset.zoomed = String(zoomS !== undefined);
    if (plot) plot.setData(data);
    markRange();
  }

  function markRange(): void {
    const x = plot?.scales.x;
    root.dataset.xMinMs = x?.min !== undefined && x.min !== null ? String(Math.round(x.min * 1000)) : '';
    root.dataset.xMaxMs = x?.max !== undefined && x.max !== null ? String(Math.round(x.max * 1000)) : '';
  }

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
      // Dragging selects a span; the select hook turns it into a zoom (uPlot's own zoom is off so the
      // range function below stays in charge of the axis).
      cursor: { drag: { x: true, y: false, setScale: false }, points: { size: 6 } },
      legend: { show: true, live: true },
      scales: {
        // One sample has no width (uPlot would stretch the axis over a day in ms, i.e. years): show the
        // minute before it instead.
        x: {
          time: true,
          range: (u, min, max) => {
            if (zoomS) return zoomS;
            if (rangeS) return rangeS;
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
          spanGaps: false,
          // Lines need two samples: mark the samples while there are only one or two.
          points: { show: (u: uPlot) => (u.data[0]?.length ?? 0) <= 2 },
          value: (_u: uPlot, v: number | null) => fmt(v),
        })),
      ],
    };
    opts.hooks = {
      setCursor: [(u) => showLatestUnlessHovering(u)],
      // uPlot commits scales after setData returns: the shown span is recorded once it is in place.
      setScale: [(_u, key) => (key === 'x' ? markRange() : undefined)],
      setSelect: [
        (u) => {
          const { left, width } = u.select;
          if (width < 5) return;
          const range: [number, number] = [u.posToVal(left, 'x') * 1000, u.posToVal(left + width, 'x') * 1000];
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          if (options.onZoom) options.onZoom(range);
          else setZoom(range);
        },
      ],
    };
    plot = new uPlot(opts, data, holder);
    showLatestUnlessHovering(plot);
    markRange();
  };

  // The legend doubles as a readout: the latest values, or the values under the cursor while hovering.
  function showLatestUnlessHovering(u: uPlot): void {
    const n = u.data[0]?.length ?? 0;
    if (n > 0 && (u.cursor.idx === null || u.cursor.idx === undefined)) {
      // The newest row that has a value (a gap row is all nulls).
      let idx = n - 1;
      while (idx > 0 && u.data.slice(1).every((c) => c[idx] === null || c[idx] === undefined)) idx--;
      u.setLegend({ idx });
    }
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
    setData(next, rangeMs) {
      data = next;
      rangeS = rangeMs ? [rangeMs[0] / 1000, rangeMs[1] / 1000] : undefined;
      let points = 0;
      let gaps = 0;
      for (let i = 0; i < next[0].length; i++) {
        if (next.slice(1).some((c) => c[i] !== null && c[i] !== undefined)) points++;
        else gaps++;
      }
      root.dataset.points = String(points);
      root.dataset.gaps = String(gaps);
      root.dataset.firstMs = next[0].length > 0 ? String(Math.round(next[0][0] * 1000)) : '';
      if (plot) {
        plot.setData(next);
        showLatestUnlessHovering(plot);
      }
      markRange();
    },
    setZoom,
    destroy() {
      resize.disconnect();
      offTheme();
      plot?.destroy();
      plot = undefined;
      root.remove();
    },
  };
}

