// Small inline SVG charts (no chart library, nothing downloaded): what a
// person would rather look at than read, beside the tables that hold the
// same numbers.

export type Bar = { label: string; value: number; text: string };

/** Horizontal bars, one per row; `max` is the full width; `mark` draws a target line; `labelW` is the labels' room (longer ones are cut, whole in a tooltip). */
export function BarChart({ bars, max, mark, title, id, labelW = 200 }: { bars: Bar[]; max: number; mark?: number; title: string; id?: string; labelW?: number }) {
  const row = 28;
  const fits = Math.floor(labelW / 7);
  const barW = 360;
  const height = bars.length * row + 8;
  const x = (v: number) => labelW + (max > 0 ? Math.max(0, Math.min(1, v / max)) : 0) * barW;
  return (
    <svg class={labelW > 200 ? "chart wide" : "chart"} id={id} viewBox={`0 0 ${labelW + barW + 90} ${height}`} role="img" aria-label={title}>
      <title>{title}</title>
      {bars.map((b, i) => (
        <g key={b.label + i} transform={`translate(0 ${i * row + 4})`}>
          {b.label.length > fits ? <title>{b.label}</title> : null}
          <text x={labelW - 8} y={row / 2 + 4} text-anchor="end" class="chart-label">{b.label.length > fits ? `${b.label.slice(0, fits - 1)}…` : b.label}</text>
          <rect x={labelW} y={4} width={barW} height={row - 10} class="chart-track" />
          <rect x={labelW} y={4} width={x(b.value) - labelW} height={row - 10} class="chart-bar" />
          <text x={labelW + barW + 6} y={row / 2 + 4} class="chart-value">{b.text}</text>
        </g>
      ))}
      {mark !== undefined ? <line x1={x(mark)} x2={x(mark)} y1={0} y2={height} class="chart-mark" /> : null}
    </svg>
  );
}

/** One share against its target: a bar, the target marked, both as percentages. */
export function TargetBar({ share, target, label, id }: { share: number; target: number; label: string; id: string }) {
  const pct = (v: number) => `${Math.round(v * 1000) / 10}%`;
  const w = 560;
  return (
    <figure class="target" id={id} data-share={share} data-target={target}>
      <figcaption>{label}</figcaption>
      <svg viewBox={`0 0 ${w} 46`} class="chart" role="img" aria-label={`${label}: ${pct(share)} / ${pct(target)}`}>
        <rect x={0} y={6} width={w} height={22} class="chart-track" />
        <rect x={0} y={6} width={Math.min(1, share) * w} height={22} class={share >= target ? "chart-bar done" : "chart-bar"} />
        <line x1={target * w} x2={target * w} y1={0} y2={34} class="chart-mark" />
        <text x={Math.min(target * w, w - 60)} y={44} class="chart-value">▲ {pct(target)}</text>
        <text x={4} y={22} class="chart-inside">{pct(share)}</text>
      </svg>
    </figure>
  );
}
