// The dashboard: reads the region's summary and tables from the reporting API with the bearer
// token (given once as #token=… or in the form, then kept in sessionStorage for this tab only).

import { el, percentBars, stackedBars } from "./charts.js";

const TOKEN_KEY = "xingcun.reporting.token";
const LEVELS = { 2: "省", 4: "市", 6: "县", 9: "乡镇", 12: "村" };
const CATEGORY_COLOURS = {
  unstable_after_exit: "#c62828",
  marginal_at_risk: "#ef6c00",
  sudden_severe_hardship: "#6a1b9a",
  none: "#90a4ae",
};

class Unauthorised extends Error {}

const $ = (id) => document.getElementById(id);
const query = new URLSearchParams(location.search);
const view = {
  region: query.get("region") || "",
  as_of: query.get("as_of") || "",
  period: query.get("period") || "",
};
// The table open under the list (not an API parameter: kept out of ``view``).
let openTable = query.get("table") || "";

function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const given = fragment.get("token");
  if (given) {
    sessionStorage.setItem(TOKEN_KEY, given);
    // Out of the address bar and the history: a token is not something to bookmark.
    history.replaceState(null, "", location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function params(extra = {}) {
  const p = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...view, ...extra })) if (value) p.set(key, value);
  return p;
}

function link(extra) {
  const p = params(extra);
  return `/dashboard${p.toString() ? `?${p}` : ""}`;
}

async function call(path, extra = {}) {
  const p = params(extra);
  const response = await fetch(`${path}${p.toString() ? `?${p}` : ""}`, {
    headers: { authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY)}` },
  });
  if (response.status === 401) throw new Unauthorised();
  return response;
}

async function json(path, extra = {}) {
  const response = await call(path, extra);
  if (!response.ok) {
    let detail = response.statusText;
    try { detail = (await response.json()).detail || detail; } catch { /* not JSON */ }
    const error = new Error(`${path}：${detail}`);
    error.status = response.status;
    throw error;
  }
  return response.json();
}

// Money stays a decimal string from the API; only separators are added (no float rounding).
function yuan(value) {
  if (value === null || value === undefined || value === "") return "—";
  const [whole, fraction = "00"] = String(value).split(".");
  const sign = whole.startsWith("-") ? "-" : "";
  const digits = whole.replace("-", "").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return `${sign}${digits}.${fraction.padEnd(2, "0").slice(0, 2)}`;
}

const integer = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("zh-CN"));
const pct = (n) => (n === null || n === undefined ? "—" : `${Number(n).toFixed(1)}%`);

const periodLabel = (p) => `${p.slice(0, 4)}年${p.endsWith("1") ? "上半年" : "下半年"}`;

function regionLabel(code, name = "") {
  if (!code) return "全部地区";
  if (name) return name;
  return `${LEVELS[code.length] || "地区"} ${code}`;
}

function status(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "status error" : "status";
}

function renderBreadcrumb(summary) {
  const nav = $("breadcrumb");
  nav.replaceChildren();
  const codes = [summary.scope];
  for (const n of Object.keys(LEVELS).map(Number)) {
    if (n > summary.scope.length && n <= summary.region.length) codes.push(summary.region.slice(0, n));
  }
  codes.forEach((code, i) => {
    if (i) nav.append(el("span", { class: "sep", text: "›" }));
    const last = code === summary.region;
    const label = regionLabel(code, last ? summary.region_name : "");
    nav.append(last ? el("strong", { text: label }) : el("a", { href: link({ region: code }), text: label }));
  });
}

function renderControls(summary) {
  $("as-of").value = view.as_of;
  const select = $("period");
  select.replaceChildren(el("option", { value: "", text: "当前半年" }));
  const [year, half] = [Number(summary.today.slice(0, 4)), Number(summary.today.slice(5, 7)) <= 6 ? 1 : 2];
  const periods = [];
  for (let y = year, h = half; periods.length < 6; h === 1 ? ((h = 2), (y -= 1)) : (h = 1)) periods.push(`${y}H${h}`);
  if (view.period && !periods.includes(view.period)) periods.unshift(view.period);
  for (const p of periods) select.append(el("option", { value: p, text: periodLabel(p) }));
  select.value = view.period;
}

function renderFigures(summary) {
  const f = summary.figures;
  $("region-title").textContent = `${regionLabel(summary.region, summary.region_name)} · 关键指标`;
  const figures = [
    ["帮扶村数", integer(f.villages), "个"],
    ["参与企业", integer(f.enterprises), "家"],
    ["在帮协议", integer(f.active_agreements), "份"],
    ["帮扶项目", integer(f.projects), "个"],
    ["已到位投资", yuan(f.invested_yuan), "元"],
    ["监测户", integer(f.monitored), "户"],
    ["双绑覆盖率", pct(f.coverage_percent), ""],
  ];
  $("figure-list").replaceChildren(
    ...figures.map(([label, value, unit]) =>
      el("div", { class: "figure" },
        el("div", { class: "label", text: label }),
        el("div", { class: "value" }, el("span", { class: "number", text: value }), unit ? el("span", { class: "unit", text: unit }) : null))),
  );
}

function renderCharts(summary) {
  const f = summary.figures;
  const rows = summary.children.length
    ? summary.children.map((c) => ({
        label: regionLabel(c.code, c.name),
        percent: c.coverage_percent,
        note: `${pct(c.coverage_percent)}（${c.bound}/${c.eligible}）`,
        href: link({ region: c.code }),
      }))
    : [{ label: regionLabel(summary.region, summary.region_name), percent: f.coverage_percent, note: `${pct(f.coverage_percent)}（${f.bound}/${f.eligible}）` }];
  $("coverage-chart").replaceChildren(percentBars(rows, { emptyText: "暂无符合条件户" }));
  const m = summary.monitoring;
  $("monitoring-chart").replaceChildren(stackedBars(m.stages, m.categories, CATEGORY_COLOURS, { emptyText: "暂无监测对象" }));
}

function renderCards(summary) {
  const cards = summary.cards;
  $("card-counts").replaceChildren(
    ...cards.colours.map((c) =>
      el("div", { class: `card-count ${c.key}` }, el("div", { text: c.label }), el("div", { class: "value", text: integer(cards.counts[c.key]) }))),
  );
  if (!cards.flagged.length) {
    $("card-list").replaceChildren(el("p", { class: "empty", text: "暂无红牌、黄牌。" }));
    return;
  }
  const names = Object.fromEntries(cards.colours.map((c) => [c.key, c.label]));
  $("card-list").replaceChildren(
    dataTable(
      ["牌色", "对象", "名称", "企业", "村", "原因", "亮牌日期"],
      cards.flagged.map((c) => [
        el("span", {}, el("span", { class: `dot ${c.card}` }), ` ${names[c.card]}`),
        c.subject_label,
        c.name || c.subject_id.slice(0, 8),
        c.enterprise_names.join("、"),
        el("a", { href: link({ region: c.village_code }), text: c.village_name || c.village_code }),
        c.reasons.join("；"),
        c.since || "",
      ]),
    ),
  );
}

function renderChildren(summary) {
  $("children").hidden = !summary.child_level;
  if (!summary.child_level) return;
  $("children-title").textContent = `下级地区（${summary.child_level}）`;
  if (!summary.children.length) {
    $("children-table").replaceChildren(el("p", { class: "empty", text: "暂无下级地区数据" }));
    return;
  }
  // A village's own row has no count of villages to show.
  const villages = summary.child_level !== "村";
  $("children-table").replaceChildren(
    dataTable(
      [summary.child_level, ...(villages ? ["村数"] : []), "在帮协议", "帮扶项目", "已到位投资（元）", "监测户", "符合条件户", "已绑定户", "覆盖率"],
      summary.children.map((c) => [
        el("a", { href: link({ region: c.code }), class: "drill", text: regionLabel(c.code, c.name) }),
        ...(villages ? [integer(c.villages)] : []),
        integer(c.active_agreements), integer(c.projects), yuan(c.invested_yuan),
        integer(c.monitored), integer(c.eligible), integer(c.bound), pct(c.coverage_percent),
      ]),
      (i) => i > 0,
    ),
  );
}

// numeric(i): whether column i holds numbers (right-aligned); totalsIndex: the 合计 row, if any.
function dataTable(headers, rows, numeric = () => false, totalsIndex = -1) {
  return el("table", { class: "data" },
    el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { text: h })))),
    el("tbody", {}, ...rows.map((cells, r) =>
      el("tr", { class: r === totalsIndex ? "totals" : null },
        ...cells.map((cell, i) => el("td", { class: numeric(i) ? "number" : null }, cell))))));
}

function shown(kind, value) {
  if (value === null || value === undefined) return "";
  if (kind === "yuan") return yuan(value);
  if (kind === "percent") return pct(value);
  if (kind === "integer") return integer(value);
  return String(value);
}

async function renderTables() {
  let items = [];
  try {
    items = (await json("/tables")).items;
  } catch (error) {
    if (error instanceof Unauthorised) throw error;
    if (error.status !== 404) throw error;
  }
  if (!items.length) {
    $("table-list").replaceChildren(el("p", { class: "empty", text: "暂无报表" }));
    $("export-all").hidden = true;
    return;
  }
  $("export-all").hidden = false;
  if (openTable && items.some((t) => t.name === openTable)) await showTable(openTable);
  $("table-list").replaceChildren(
    ...items.map((t) =>
      el("div", { class: "table-item" },
        el("span", { class: "title", text: t.title }),
        button("查看", () => showTable(t.name, true)),
        button("下载 CSV", () => download(`/exports/tables/${t.name}.csv`)),
        button("下载 XLSX", () => download(`/exports/tables/${t.name}.xlsx`)))),
  );
}

function button(text, action) {
  const b = el("button", { type: "button", text });
  b.addEventListener("click", () => action().catch(failed));
  return b;
}

async function showTable(name, remember = false) {
  const table = await json(`/tables/${name}`, { page_size: "5000" });
  if (remember) {
    openTable = name;
    history.replaceState(null, "", link({ table: name }));
  }
  const rows = table.rows.map((r) => table.columns.map((c) => shown(c.kind, r[c.key])));
  if (table.totals) rows.push(table.columns.map((c) => shown(c.kind, table.totals[c.key])));
  const numeric = (i) => !["text", "date"].includes(table.columns[i].kind);
  $("table-view").replaceChildren(
    el("h3", { text: table.title }),
    dataTable(table.columns.map((c) => c.header), rows, numeric, table.totals ? rows.length - 1 : -1),
    ...table.notes.map((n) => el("p", { class: "notes", text: n })),
  );
}

async function download(path) {
  status("正在导出…");
  const response = await call(path);
  if (!response.ok) throw new Error(`${path}：${response.status}`);
  const disposition = response.headers.get("content-disposition") || "";
  const starred = disposition.match(/filename\*=UTF-8''([^;]+)/i);
  const plain = disposition.match(/filename="([^"]+)"/i);
  const name = starred ? decodeURIComponent(starred[1]) : plain ? plain[1] : path.split("/").pop();
  const url = URL.createObjectURL(await response.blob());
  const a = el("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  status(`已导出：${name}`);
}

function askForToken(reason) {
  $("main").hidden = true;
  $("login").hidden = false;
  $("login-reason").textContent = reason;
  document.body.dataset.state = "login";
  status("");
}

function failed(error) {
  if (error instanceof Unauthorised) {
    sessionStorage.removeItem(TOKEN_KEY);
    askForToken("访问令牌无效或已过期，请重新输入。");
    return;
  }
  document.body.dataset.state = "error";
  status(`加载失败：${error.message}`, true);
}

async function load() {
  status("正在加载…");
  const summary = await json("/dashboard/summary");
  $("login").hidden = true;
  $("main").hidden = false;
  renderBreadcrumb(summary);
  renderControls(summary);
  renderFigures(summary);
  renderCharts(summary);
  renderCards(summary);
  renderChildren(summary);
  await renderTables();
  status(`数据截至 ${summary.today}，统计期间 ${periodLabel(summary.period)}`);
  document.body.dataset.state = "ready";
}

function start() {
  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    load().catch(failed);
  });
  $("controls").addEventListener("submit", (event) => {
    event.preventDefault();
    location.href = link({ as_of: $("as-of").value, period: $("period").value });
  });
  $("export-all").addEventListener("click", () => download("/exports/report.xlsx").catch(failed));
  if (!takeToken()) {
    askForToken("需要访问令牌才能查看数据。");
    return;
  }
  load().catch(failed);
}

start();
