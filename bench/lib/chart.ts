/**
 * Small SVG charts (no dependencies). Bar charts for the macro results: horizontal bars in one or
 * more panels, each panel on its own scale. Linear by default, so that a price per call reads as
 * the length it is; a log scale, the first design, made a 60× gap look like 2×. Line charts for
 * figures over time (the server soak): panels over one time axis, each y axis from 0.
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

/** One line of a line chart: points in the panel's units, x in the chart's. */
export interface Series {
  readonly label: string;
  readonly points: readonly (readonly [number, number])[];
  /** A CSS colour; the panel's palette by position when absent. */
  readonly color?: string;
}

/** One panel of a line chart: its lines share a y scale that starts at 0. */
export interface LinePanel {
  readonly title: string;
  readonly series: readonly Series[];
  readonly format: (v: number) => string;
}

const PALETTE = ['#c0392b', '#3b6ea8', '#27ae60', '#8e44ad'];
const PLOT_LEFT = 90;
const PLOT_RIGHT = 30;
const PLOT_H = 150;

/** Three round steps per decade (1, 2, 5) for axis ticks. */
function niceStep(span: number, ticks: number): number {
  const raw = span / ticks;
  const decade = 10 ** Math.floor(Math.log10(raw));
  const m = raw / decade;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * decade;
}

function linePanelSvg(p: LinePanel, top: number, xMax: number, xLabel: string): { svg: string; height: number } {
  const span = WIDTH - PLOT_LEFT - PLOT_RIGHT;
  const yTop = top + 30;
  const ys = p.series.flatMap((s) => s.points.map(([, y]) => y));
  const yStep = niceStep(Math.max(...ys, Number.MIN_VALUE), 4);
  const yMax = Math.max(yStep, Math.ceil(Math.max(...ys, 0) / yStep) * yStep);
  const px = (x: number): number => PLOT_LEFT + (span * x) / xMax;
  const py = (y: number): number => yTop + PLOT_H - (PLOT_H * y) / yMax;
  const parts: string[] = [`<text x="16" y="${top + 18}" font-size="14" font-weight="bold">${esc(p.title)}</text>`];
  for (let y = 0; y <= yMax + yStep / 2; y += yStep) {
    parts.push(
      `<line x1="${PLOT_LEFT}" x2="${PLOT_LEFT + span}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" ` +
        `stroke="#ddd"/>`,
      `<text x="${PLOT_LEFT - 8}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end" font-size="11">` +
        `${esc(p.format(y))}</text>`,
    );
  }
  const xStep = niceStep(xMax, 8);
  for (let x = 0; x <= xMax + xStep / 100; x += xStep) {
    parts.push(
      `<text x="${px(x).toFixed(1)}" y="${yTop + PLOT_H + 16}" text-anchor="middle" font-size="11">` +
        `${esc(String(Math.round(x * 100) / 100))}</text>`,
    );
  }
  parts.push(
    `<text x="${PLOT_LEFT + span}" y="${yTop + PLOT_H + 30}" text-anchor="end" font-size="11">${esc(xLabel)}</text>`,
  );
  p.series.forEach((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length]!;
    const d = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ');
    parts.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${d}"/>`,
      `<rect x="${PLOT_LEFT + 10 + i * 170}" y="${top + 26}" width="12" height="3" fill="${color}"/>`,
      `<text x="${PLOT_LEFT + 27 + i * 170}" y="${top + 31}" font-size="12">${esc(s.label)}</text>`,
    );
  });
  return { svg: parts.join('\n  '), height: 30 + PLOT_H + 40 };
}

/** A line chart: panels over one x axis from 0 to `xMax`. */
export interface LineChart {
  readonly title: string;
  /** A second, smaller line under the title (the run's settings, say). */
  readonly subtitle?: string;
  readonly xLabel: string;
  readonly xMax: number;
  readonly panels: readonly LinePanel[];
}

/**
 * An SVG document of line panels, one under another, each y axis from 0: a quantity that stays
 * flat reads as flat, not as noise blown up to the panel's height.
 */
export function lineChart(chart: LineChart): string {
  const parts: string[] = [];
  let top = chart.subtitle === undefined ? 40 : 58;
  for (const p of chart.panels) {
    const { svg, height } = linePanelSvg(p, top, Math.max(chart.xMax, Number.MIN_VALUE), chart.xLabel);
    parts.push(svg);
    top += height + 10;
  }
  const subtitle =
    chart.subtitle === undefined ? '' : `\n  <text x="16" y="46" font-size="12">${esc(chart.subtitle)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top}" font-family="sans-serif">
  <rect width="100%" height="100%" fill="white"/>
  <text x="16" y="26" font-size="16" font-weight="bold">${esc(chart.title)}</text>${subtitle}
  ${parts.join('\n  ')}
</svg>
`;
}
