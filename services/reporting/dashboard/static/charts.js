// Hand-drawn SVG bar charts (no library): text goes in with textContent, never as markup.

const SVG = "http://www.w3.org/2000/svg";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAll(node, attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  setAll(node, attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function setAll(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

const LABEL_WIDTH = 170;
const VALUE_WIDTH = 130;
const WIDTH = 640;
const ROW = 26;

// Horizontal bars of a percentage (0–100) per row: { label, percent, note, href }.
export function percentBars(rows, { emptyText }) {
  if (!rows.length) return el("p", { class: "empty", text: emptyText });
  const plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const height = rows.length * ROW + 24;
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": "覆盖率条形图" });
  chart.append(
    svg("line", { x1: LABEL_WIDTH + plot, x2: LABEL_WIDTH + plot, y1: 0, y2: rows.length * ROW, stroke: "#9fb3c8", "stroke-dasharray": "4 3" }),
    svg("text", { x: LABEL_WIDTH + plot, y: rows.length * ROW + 16, "text-anchor": "middle", fill: "#616e7c", text: "目标 100%" }),
  );
  rows.forEach((row, i) => {
    const y = i * ROW;
    const share = row.percent === null ? 0 : Math.max(0, Math.min(100, row.percent)) / 100;
    const colour = row.percent === null ? "#bcccdc" : row.percent >= 100 ? "#2e7d32" : row.percent >= 80 ? "#1565c0" : "#ef6c00";
    const label = svg("text", { x: LABEL_WIDTH - 8, y: y + 17, "text-anchor": "end", fill: "#1f2933", text: row.label });
    chart.append(
      row.href ? svg("a", { href: row.href }, label) : label,
      svg("rect", { x: LABEL_WIDTH, y: y + 4, width: plot, height: ROW - 8, fill: "#eef2f7" }),
      svg("rect", { x: LABEL_WIDTH, y: y + 4, width: Math.round(plot * share), height: ROW - 8, fill: colour }),
      svg("text", { x: LABEL_WIDTH + plot + 8, y: y + 17, fill: "#1f2933", text: row.note }),
    );
  });
  return chart;
}

// Horizontal stacked bars: rows { label, counts: {series: n}, total }, series [{ key, label }].
export function stackedBars(rows, series, colours, { emptyText }) {
  const shown = rows.filter((r) => r.total > 0);
  if (!shown.length) return el("p", { class: "empty", text: emptyText });
  const plot = WIDTH - LABEL_WIDTH - 60;
  const most = Math.max(...shown.map((r) => r.total));
  const height = shown.length * ROW + 4;
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": "监测对象条形图" });
  shown.forEach((row, i) => {
    const y = i * ROW;
    chart.append(svg("text", { x: LABEL_WIDTH - 8, y: y + 17, "text-anchor": "end", fill: "#1f2933", text: row.label }));
    let x = LABEL_WIDTH;
    for (const s of series) {
      const n = row.counts[s.key] || 0;
      if (!n) continue;
      const w = Math.max(2, Math.round((plot * n) / most));
      chart.append(
        svg("rect", { x, y: y + 4, width: w, height: ROW - 8, fill: colours[s.key] },
          svg("title", { text: `${row.label} · ${s.label}：${n}` })),
      );
      x += w;
    }
    chart.append(svg("text", { x: x + 6, y: y + 17, fill: "#1f2933", text: String(row.total) }));
  });
  const legend = el("div", { class: "legend" });
  for (const s of series) {
    const swatch = el("span", { class: "swatch" });
    swatch.style.background = colours[s.key];
    legend.append(el("span", {}, swatch, s.label));
  }
  return el("div", {}, chart, legend);
}
