// The revenue waterfall, one panel per legal entity and currency: past months as NetSuite holds them
// beside the schedules (with the variance), then the forecast months rolling the deferred revenue
// balance forward. A chart (billings and revenue as bars, the deferred balance as a line) over a
// table with every figure in minor units on data-minor, so a test can compare them with the API's.

import { draw } from "./charts.js";
import { $, fill, h, table } from "./dom.js";
import { major, money, when } from "./format.js";

const FORECAST_MONTHS = 12;
const COLUMNS = [
  ["billings", "Billings"],
  ["scheduled_billings", "Scheduled billings"],
  ["billings_variance", "Variance"],
  ["revenue", "Revenue"],
  ["scheduled_revenue", "Scheduled revenue"],
  ["revenue_variance", "Variance"],
  ["deferred_revenue", "Deferred revenue (month end)"],
];

/** The row's figures under the table's column names (past: what NetSuite holds; forecast: projected). */
export function rowFigures(row, basis) {
  if (basis === "actual") {
    return {
      billings: row.billed, scheduled_billings: row.scheduled_billings, billings_variance: row.billings_variance,
      revenue: row.recognized, scheduled_revenue: row.scheduled_revenue, revenue_variance: row.revenue_variance,
      deferred_revenue: row.deferred_revenue,
    };
  }
  return {
    billings: row.billings, scheduled_billings: row.scheduled_billings, billings_variance: null,
    revenue: row.revenue, scheduled_revenue: row.scheduled_revenue, revenue_variance: null,
    deferred_revenue: row.deferred_revenue,
  };
}

function cell(minor, currency, figure) {
  if (minor === null) return h("td", { class: "num" }, "–");
  return h("td", { class: "num", dataset: { figure, minor: String(minor) } }, money(minor, currency));
}

export class WaterfallView {
  constructor(api) {
    this.api = api;
  }

  async load(entity) {
    $("waterfall").dataset.ready = "false";
    const body = await this.api.get("/revenue/waterfall", { entity, months: FORECAST_MONTHS });
    const panels = body.series.map((s, i) => this.panel(s, i));
    fill($("waterfall-series"), panels.length ? panels : h("p", { class: "meta" }, "No billings, revenue or schedules yet."));
    body.series.forEach((s, i) => this.chart(s, i));
    $("waterfall-meta").textContent =
      `Forecast from ${body.as_of}, ${body.months} months · past months as NetSuite holds them · ` +
      `read model folded ${when(body.facts_folded_at)}`;
    $("waterfall").dataset.asOf = body.as_of;
    $("waterfall").dataset.ready = "true";
  }

  panel(series, index) {
    const key = `${series.entity || "–"} ${series.currency}`;
    const rows = [
      ...series.actuals.map((r) => ["actual", r]),
      ...series.forecast.map((r) => ["forecast", r]),
    ].map(([basis, r]) => {
      const figures = rowFigures(r, basis);
      return h("tr", { class: basis === "forecast" ? "forecast" : undefined, dataset: { period: r.period, basis } },
        h("th", { scope: "row" }, r.period), h("td", {}, basis === "actual" ? "NetSuite" : "forecast"),
        COLUMNS.map(([k]) => cell(figures[k], series.currency, k)));
    });
    const figures = table(h("table", { class: "numbers" }), ["Month", "Basis", ...COLUMNS.map(([, t]) => [t, "num"])], rows);
    return h("div", { class: "waterfall-series", dataset: { entity: series.entity || "", currency: series.currency } },
      h("h3", {}, `${key} · opening deferred revenue ${money(series.opening_deferred_revenue, series.currency)}`),
      h("div", { class: "chart-box" }, h("canvas", { id: `chart-waterfall-${index}`, "aria-label": `revenue waterfall ${key}` })),
      figures);
  }

  chart(series, index) {
    const rows = [
      ...series.actuals.map((r) => rowFigures(r, "actual")),
      ...series.forecast.map((r) => rowFigures(r, "forecast")),
    ];
    const labels = [...series.actuals, ...series.forecast].map((r) => r.period);
    const values = (k) => rows.map((r) => major(r[k], series.currency));
    draw(`chart-waterfall-${index}`, {
      type: "bar",
      data: {
        labels,
        datasets: [
          { type: "bar", label: "Billings", backgroundColor: "#0ea5e9", data: values("billings"), figure: "billings" },
          { type: "bar", label: "Revenue", backgroundColor: "#f59e0b", data: values("revenue"), figure: "revenue" },
          { type: "line", label: "Deferred revenue", borderColor: "#6366f1", backgroundColor: "#6366f1",
            data: values("deferred_revenue"), figure: "deferred_revenue" },
        ],
      },
      options: { scales: { y: { title: { display: true, text: series.currency } } } },
    });
  }
}
