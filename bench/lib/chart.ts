/** A small SVG bar chart (no dependencies) for the macro results. */

/** One bar. */
export interface Bar {
  readonly label: string;
  readonly value: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Horizontal bars on a log scale (the values span orders of magnitude), labelled with
 * `format(value)`.
 */
export function barChart(title: string, bars: readonly Bar[], format: (v: number) => string): string {
  const width = 900;
  const rowH = 34;
  const left = 260;
  const top = 44;
  const height = top + bars.length * rowH + 20;
  const max = Math.max(...bars.map((b) => b.value), 10);
  const span = width - left - 220;
  const scale = (v: number): number => (span * Math.log10(Math.max(v, 1))) / Math.log10(max);
  const rows = bars
    .map((b, i) => {
      const y = top + i * rowH;
      const w = Math.max(2, scale(b.value));
      return [
        `<text x="${left - 10}" y="${y + 21}" text-anchor="end" font-size="13">${esc(b.label)}</text>`,
        `<rect x="${left}" y="${y + 6}" width="${w.toFixed(1)}" height="${rowH - 12}" fill="#3b6ea8"/>`,
        `<text x="${(left + w + 8).toFixed(1)}" y="${y + 21}" font-size="13">${esc(format(b.value))}</text>`,
      ].join('');
    })
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
  <rect width="100%" height="100%" fill="white"/>
  <text x="16" y="26" font-size="16" font-weight="bold">${esc(title)} (log scale)</text>
  ${rows}
</svg>
`;
}
