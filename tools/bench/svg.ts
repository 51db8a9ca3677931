/**
 * The plot of latency against offered load, as hand-written SVG: one colour
 * per scenario, p50 dashed and p99 solid, offered deliveries a second on x,
 * milliseconds on a log scale on y, the p99 threshold as a grey line.
 */
import { type BenchRun, layoutOf, targetOf } from "./results.ts";

const WIDTH = 760;
const PLOT_HEIGHT = 280;
const LEFT = 70;
const RIGHT = 20;
const TOP = 30;
const COLOURS = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#9467bd",
  "#ff7f0e",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#7f7f7f",
  "#bcbd22",
];

const escape = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");

/** The SVG document. */
export function renderLatencyPlot(run: BenchRun): string {
  const series = run.scenarios.map((s, i) => ({
    label: `${targetOf(s)}, ${layoutOf(s)}`,
    colour: COLOURS[i % COLOURS.length]!,
    points: [...s.steps].sort((a, b) => a.offeredDeliveries - b.offeredDeliveries),
  }));
  const all = series.flatMap((s) => s.points);
  const xMax = niceCeiling(Math.max(1, ...all.map((p) => p.offeredDeliveries)));
  const latencies = all.flatMap((p) => [p.latencyMs.p50, p.latencyMs.p99])
    .filter((v): v is number => v !== null && v > 0);
  const yMin = Math.pow(10, Math.floor(Math.log10(Math.min(0.1, ...latencies))));
  const yMax = Math.pow(10, Math.ceil(Math.log10(Math.max(100, ...latencies))));
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = PLOT_HEIGHT;
  const HEIGHT = TOP + plotH + 50 + 16 * series.length;
  const x = (v: number) => LEFT + (v / xMax) * plotW;
  const y = (ms: number) =>
    TOP + plotH - ((Math.log10(Math.max(ms, yMin)) - Math.log10(yMin)) /
        (Math.log10(yMax) - Math.log10(yMin))) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" ` +
    `viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${LEFT}" y="18" font-size="14">Latency against offered load ` +
    `(${escape(run.machine.cores + " cores, " + run.machine.cpuModel)})</text>`,
  ];
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    out.push(
      `<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y(decade)}" y2="${y(decade)}" stroke="#eee"/>`,
      `<text x="${LEFT - 6}" y="${y(decade) + 4}" text-anchor="end">${decade} ms</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const v = (xMax / 5) * i;
    out.push(
      `<line x1="${x(v)}" x2="${x(v)}" y1="${TOP}" y2="${TOP + plotH}" stroke="#eee"/>`,
      `<text x="${x(v)}" y="${TOP + plotH + 16}" text-anchor="middle">${
        Math.round(v).toLocaleString("en-US")
      }</text>`,
    );
  }
  const limit = run.thresholds.maxP99Ms;
  out.push(
    `<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${y(limit)}" y2="${y(limit)}" stroke="#999" ` +
      `stroke-dasharray="2,3"/>`,
    `<text x="${LEFT + plotW - 4}" y="${y(limit) - 4}" text-anchor="end" fill="#666">` +
      `p99 limit ${limit} ms</text>`,
    `<text x="${LEFT + plotW / 2}" y="${TOP + plotH + 34}" text-anchor="middle">` +
      `offered deliveries a second (messages a second × members)</text>`,
    `<rect x="${LEFT}" y="${TOP}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
  );
  series.forEach((s, i) => {
    for (const [key, dash] of [["p50", "5,4"], ["p99", ""]] as const) {
      const pts = s.points.filter((p) => p.latencyMs[key] !== null)
        .map((p) => `${x(p.offeredDeliveries).toFixed(1)},${y(p.latencyMs[key]!).toFixed(1)}`);
      if (pts.length === 0) continue;
      out.push(
        `<polyline points="${pts.join(" ")}" fill="none" stroke="${s.colour}" stroke-width="2"` +
          (dash ? ` stroke-dasharray="${dash}"` : "") + "/>",
        ...pts.map((pt) => {
          const [px, py] = pt.split(",");
          return `<circle cx="${px}" cy="${py}" r="3" fill="${s.colour}"/>`;
        }),
      );
    }
    const ly = TOP + plotH + 54 + i * 16;
    out.push(
      `<line x1="${LEFT}" x2="${LEFT + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.colour}" ` +
        `stroke-width="2"/>`,
      `<text x="${LEFT + 30}" y="${ly}">${escape(s.label)}: p99 solid, p50 dashed</text>`,
    );
  });
  out.push("</svg>", "");
  return out.join("\n");
}

function niceCeiling(value: number): number {
  const magnitude = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * magnitude >= value) return step * magnitude;
  }
  return 10 * magnitude;
}
