// The four-way revenue view: charts by period and by legal entity in the reporting currency (each
// bar is the API's own converted figure, one summary call per period or entity, so nothing is
// converted twice), the per period/entity/currency breakdown as booked, the reconciliation of each
// pair, and the drill-down from any figure to the records behind it.

import { FIGURES, draw } from "./charts.js";
import { $, fill, h, table, toast } from "./dom.js";
import { major, money, when } from "./format.js";

const MAX_PERIODS = 12;
const BREAKDOWN = ["bookings", "billings", "collections", "recognized", "posted_invoices", "posted_payments"];

function figureCell(minor, currency, figure, onClick) {
  const attrs = { class: "num", dataset: { minor: String(minor), figure, currency } };
  const text = money(minor, currency);
  return h("td", attrs, onClick ? h("button", { type: "button", class: "link", onclick: onClick }, text) : text);
}

function chartFigures(canvasId, labels, totals, currency, onPick) {
  return draw(canvasId, {
    type: "bar",
    data: {
      labels,
      datasets: FIGURES.map((f) => ({
        label: f.label,
        backgroundColor: f.color,
        data: totals.map((t) => (t ? major(t[f.key], currency) : 0)),
        figure: f.key,
      })),
    },
    options: {
      scales: { y: { beginAtZero: true, title: { display: true, text: currency } } },
      onClick: (_event, elements, chart) => {
        if (!elements.length) return;
        const { datasetIndex, index } = elements[0];
        onPick(chart.data.datasets[datasetIndex].figure, labels[index]);
      },
    },
  });
}

export class RevenueView {
  constructor(api, openLineage) {
    this.api = api;
    this.openLineage = openLineage;
    this.entities = null;
  }

  async load(entity, reportingCurrency) {
    $("revenue").dataset.ready = "false";
    $("drilldown").hidden = true; // it belonged to the figures being replaced
    const base = await this.api.get("/revenue/summary", { entity, reporting_currency: reportingCurrency });
    const currency = base.reporting_totals ? base.reporting_totals.currency : reportingCurrency || "USD";
    if (this.entities === null && !entity) this.entities = base.reporting.entities;
    this.fillFilters(base, currency);
    const periods = base.reporting.periods.slice(-MAX_PERIODS);
    const entities = entity ? [entity] : base.reporting.entities;
    const [byPeriod, byEntity] = await Promise.all([
      Promise.all(periods.map((p) => this.api.get("/revenue/summary", { period: p, entity, reporting_currency: currency }))),
      Promise.all(entities.map((e) => this.api.get("/revenue/summary", { entity: e, reporting_currency: currency }))),
    ]);
    const periodTotals = byPeriod.map((s) => s.reporting_totals);
    const entityTotals = byEntity.map((s) => s.reporting_totals);
    document.querySelectorAll(".reporting-currency").forEach((el) => (el.textContent = currency));
    const pick = (label) => (figure, key) => this.drill(figure, label === "period" ? { period: key, entity } : { entity: key });
    chartFigures("chart-periods", periods, periodTotals, currency, pick("period"));
    chartFigures("chart-entities", entities, entityTotals, currency, pick("entity"));
    this.periodTable(periods, periodTotals, base.reporting_totals, currency, entity);
    this.breakdownTable(base.breakdown);
    this.variancesTable(base.amounts, entity);
    const rates = base.reporting_totals ? Object.entries(base.reporting_totals.rates).map(([c, r]) => `${c} ${r}`).join(", ") : "";
    $("revenue-meta").textContent =
      `As of ${when(base.reporting.as_of)} · read model folded ${when(base.reporting.facts_folded_at)} · ` +
      `${base.reporting.reconciled ? "all pairs reconciled" : "variances to look at"}` +
      (rates ? ` · FX to ${currency}: ${rates}` : "");
    $("revenue").dataset.ready = "true";
    $("revenue").dataset.reportingCurrency = currency;
  }

  fillFilters(base, currency) {
    const entitySelect = $("filter-entity");
    if (entitySelect.options.length === 1 && this.entities) {
      for (const e of this.entities) entitySelect.append(h("option", { value: e }, e));
    }
    const currencySelect = $("filter-currency");
    const known = new Set([...currencySelect.options].map((o) => o.value));
    for (const c of [currency, ...base.reporting.currencies]) {
      if (!known.has(c)) {
        currencySelect.append(h("option", { value: c }, c));
        known.add(c);
      }
    }
    currencySelect.value = currency;
  }

  periodTable(periods, totals, overall, currency, entity) {
    const row = (label, t, attrs) =>
      h("tr", attrs, h("th", { scope: "row" }, label),
        FIGURES.map((f) => figureCell(t ? t[f.key] : 0, currency, f.key, () => this.drill(f.key, { period: attrs.dataset.period, entity }))));
    const rows = periods.map((p, i) => row(p, totals[i], { dataset: { period: p } }));
    if (overall) rows.push(row("All periods", overall, { class: "total", dataset: { period: "" } }));
    table($("table-periods"), ["Period", ...FIGURES.map((f) => [f.label, "num"])], rows);
  }

  breakdownTable(cells) {
    const sorted = [...cells].sort((a, b) =>
      `${a.period}${a.entity}${a.currency}`.localeCompare(`${b.period}${b.entity}${b.currency}`));
    const rows = sorted.map((c) =>
      h("tr", { dataset: { period: c.period || "", entity: c.entity || "", currency: c.currency || "" } },
        h("td", {}, c.period || "–"), h("td", {}, c.entity || "–"), h("td", {}, c.currency || "–"),
        BREAKDOWN.map((k) => figureCell(c.figures[k], c.currency, k,
          () => this.drill(k, { period: c.period, entity: c.entity, currency: c.currency }))),
        h("td", {}, h("span", { class: `badge ${c.reconciled ? "ok" : "warn"}` }, c.reconciled ? "reconciled" : "variance"))));
    table($("table-breakdown"),
      ["Period", "Entity", "Currency", ...["Bookings", "Billings", "Collections", "Recognized", "ERP invoices", "ERP payments"].map((t) => [t, "num"]), "Status"],
      rows);
  }

  variancesTable(amounts, entity) {
    const rows = [];
    for (const [currency, a] of Object.entries(amounts)) {
      for (const v of a.variances) {
        if (!v.left && !v.right && !v.unmatched) continue;
        rows.push(h("tr", { dataset: { currency, variance: v.name } },
          h("td", {}, currency), h("td", {}, v.name.replaceAll("_", " ")),
          figureCell(v.left, currency, "left"), figureCell(v.right, currency, "right"),
          figureCell(v.difference, currency, "difference"), h("td", { class: "num" }, v.unmatched),
          h("td", {}, h("span", { class: `badge ${v.reconciled ? "ok" : "warn"}` }, v.status)),
          h("td", {}, h("button", { type: "button", class: "ghost small", onclick: () => this.drill(v.name, { currency, entity }) },
            v.reconciled ? "records" : "unmatched records"))));
      }
    }
    table($("table-variances"), ["Currency", "Pair", ["Source", "num"], ["ERP", "num"], ["Difference", "num"], ["Unmatched", "num"], "Status", ""], rows);
  }

  async drill(figure, { period, entity, currency } = {}) {
    try {
      const page = await this.api.get("/revenue/records", { figure, period, entity, currency, limit: 50 });
      const scope = [period, entity, currency].filter(Boolean).join(" · ") || "all";
      $("drilldown-title").textContent =
        `${figure.replaceAll("_", " ")} (${scope}): ${page.total} record${page.total === 1 ? "" : "s"}` +
        (page.next_cursor ? ", first 50 shown" : "");
      const rows = page.items.map((r) =>
        h("tr", { dataset: { recordId: r.id } },
          h("td", {}, r.kind), h("td", {}, r.system), h("td", { class: "mono" }, r.id),
          h("td", { class: "num" }, r.amount === null ? "–" : money(r.amount, r.currency)),
          h("td", {}, r.status || "–"), h("td", {}, r.period || "–"), h("td", {}, when(r.occurred_at)),
          h("td", {}, r.invoice_id || r.contract_id
            ? h("button", { type: "button", class: "ghost small",
                onclick: () => this.openLineage(r.invoice_id ? "invoice_id" : "contract_id", r.invoice_id || r.contract_id) }, "lineage")
            : "")));
      table($("table-records"), ["Kind", "System", "Id", ["Amount", "num"], "Status", "Period", "Occurred", ""], rows);
      $("drilldown").hidden = false;
      $("drilldown").scrollIntoView({ block: "nearest" });
    } catch (err) {
      toast(`Drill-down failed: ${err.message}`, "error");
    }
  }
}
