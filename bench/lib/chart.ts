/**
 * Small SVG bar charts (no dependencies) for the macro results: horizontal bars in one or more
 * panels, each panel on its own scale. Linear by default, so that a price per call reads as the
 * length it is; a log scale, the first design, made a 60× gap look like 2×.
 */

/** One bar. */
export interface Bar {
  readonly label: string;
  readonly value: number;
  /** Printed after the value (a ratio, for example). */
  readonly note?: string;
  /** Drawn in the accent colour (sharedref's own bars). */
  readonly highlight?: boolean;
}

/** One panel: a title, its bars, and how to print a value. */
export interface Panel {
  readonly title: string;
  readonly bars: readonly Bar[];
  readonly format: (v: number) => string;
  /** `'log'` for values that span orders of magnitude; `'linear'` (the default) otherwise. */
  readonly scale?: 'linear' | 'log';
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const WIDTH = 960;
const LEFT = 330;
const ROW_H = 30;
/** Room right of the longest bar for its value and note. */
const TEXT_ROOM = 250;

function panelSvg(p: Panel, top: number): { svg: string; height: number } {
  const max = Math.max(...p.bars.map((b) => b.value), Number.MIN_VALUE);
  const span = WIDTH - LEFT - TEXT_ROOM;
  const scale =
    p.scale === 'log'
      ? (v: number): number => (span * Math.log10(Math.max(v, 1))) / Math.log10(Math.max(max, 10))
      : (v: number): number => (span * v) / max;
  const rows = p.bars.map((b, i) => {
    const y = top + 30 + i * ROW_H;
    const w = Math.max(2, scale(b.value));
    const text = `${p.format(b.value)}${b.note === undefined ? '' : `  ${b.note}`}`;
    return [
      `<text x="${LEFT - 10}" y="${y + 19}" text-anchor="end" font-size="13">${esc(b.label)}</text>`,
      `<rect x="${LEFT}" y="${y + 5}" width="${w.toFixed(1)}" height="${ROW_H - 10}" ` +
        `fill="${b.highlight === true ? '#c0392b' : '#3b6ea8'}"/>`,
      `<text x="${(LEFT + w + 8).toFixed(1)}" y="${y + 19}" font-size="13">${esc(text)}</text>`,
    ].join('');
  });
  const title = `${p.title}${p.scale === 'log' ? ' (log scale)' : ''}`;
  return {
    svg: [`<text x="16" y="${top + 18}" font-size="14" font-weight="bold">${esc(title)}</text>`, ...rows].join('\n  '),
    height: 40 + p.bars.length * ROW_H,
  };
}

/** An SVG document: `title`, then the panels one under another. */
export function barChart(title: string, panels: readonly Panel[]): string {
  const parts: string[] = [];
  let top = 40;
  for (const p of panels) {
    const { svg, height } = panelSvg(p, top);
    parts.push(svg);
    top += height + 10;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top}" font-family="sans-serif">
  <rect width="100%" height="100%" fill="white"/>
  <text x="16" y="26" font-size="16" font-weight="bold">${esc(title)}</text>
  ${parts.join('\n  ')}
</svg>
`;
}
