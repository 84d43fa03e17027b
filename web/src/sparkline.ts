// A tiny canvas line for fleet cards. Hand-drawn rather than a chart instance per card: 1,000 of these
// must cost next to nothing, so a redraw is one path over at most SPARK_POINTS values.

// The CSS size comes from the caller (a ResizeObserver): reading clientWidth here would force a layout
// of the whole grid per card, after the text updates of the same frame.
export function drawSparkline(
  canvas: HTMLCanvasElement,
  size: { width: number; height: number },
  times: readonly number[],
  values: ReadonlyArray<number | null>,
  color: string,
  maxValue = 100,
): void {
  const dpr = Math.min(window.devicePixelRatio || 1, 2);
  const cssW = size.width;
  const cssH = size.height;
  if (cssW === 0 || cssH === 0) return;
  const w = Math.round(cssW * dpr);
  const h = Math.round(cssH * dpr);
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.clearRect(0, 0, w, h);
  if (times.length < 2) return;
  const t0 = times[0];
  const span = Math.max(times[times.length - 1] - t0, 1e-9);
  const pad = 1.5 * dpr;
  const x = (t: number) => ((t - t0) / span) * (w - 2 * pad) + pad;
  const y = (v: number) => h - pad - (Math.min(Math.max(v, 0), maxValue) / maxValue) * (h - 2 * pad);

  ctx.beginPath();
  let started = false;
  let firstX = 0;
  let lastX = 0;
  for (let i = 0; i < times.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    const px = x(times[i]);
    if (!started) {
      ctx.moveTo(px, y(v));
      firstX = px;
      started = true;
    } else ctx.lineTo(px, y(v));
    lastX = px;
  }
  if (!started) return;
  ctx.lineWidth = 1.5 * dpr;
  ctx.lineJoin = 'round';
  ctx.strokeStyle = color;
  ctx.stroke();
  ctx.lineTo(lastX, h);
  ctx.lineTo(firstX, h);
  ctx.closePath();
  ctx.globalAlpha = 0.15;
  ctx.fillStyle = color;
  ctx.fill();
  ctx.globalAlpha = 1;
}
