// Operations at a glance: latencies, sync success by flow and entity, exception aging by owner,
// dead letters, reconciliation drift and the read model's freshness.

import { AGE_BUCKETS, draw } from "./charts.js";
import { $, fill, h, table } from "./dom.js";
import { percent, seconds, when } from "./format.js";

function tile(id, label, value, detail, tone = "") {
  return h("div", { class: `tile ${tone}`, dataset: { metric: id } },
    h("div", { class: "tile-label" }, label), h("div", { class: "tile-value" }, value), h("div", { class: "tile-detail" }, detail));
}

export class OperationsView {
  constructor(api) {
    this.api = api;
  }

  async load() {
    const m = await this.api.get("/operations/metrics");
    const recon = m.reconciliation;
    const rm = m.read_model;
    const live = (m.exception_aging || []).reduce((n, o) => n + o.open + o.retrying, 0);
    const overdue = (m.exception_aging || []).reduce((n, o) => n + o.overdue, 0);
    fill($("ops-tiles"),
      tile("invoice-latency", "Invoice latency (finalized → ERP)", `p50 ${seconds(m.invoice_latency.p50_seconds)}`,
        `p95 ${seconds(m.invoice_latency.p95_seconds)} · ${m.invoice_latency.count} invoices`),
      tile("contract-to-bill", "Contract → first bill", `p50 ${seconds(m.contract_to_first_bill.p50_seconds)}`,
        `p95 ${seconds(m.contract_to_first_bill.p95_seconds)} · ${m.contract_to_first_bill.count} contracts`),
      tile("exceptions", "Live exceptions", m.exception_aging === null ? "–" : String(live),
        m.exception_aging === null ? "process API unavailable" : `${overdue} overdue`, overdue ? "warn" : ""),
      tile("dead-letters", "Dead letters", m.dead_letter_depth === null ? "–" : String(m.dead_letter_depth),
        "messages waiting for replay", m.dead_letter_depth ? "warn" : ""),
      tile("reconciliation", "Reconciliation drift",
        recon && recon.available ? String(recon.differences ?? "–") : "–",
        recon && recon.available ? `${recon.status} · ${when(recon.as_of)}` : "no report yet",
        recon && recon.differences ? "warn" : ""),
      tile("read-model", "Read model", `${rm.applied} facts`,
        `lag ${rm.lag ?? "–"} · pending ${rm.pending ?? "–"} · ${when(rm.folded_at)}`, rm.bad ? "warn" : ""));
    draw("chart-sync", {
      type: "bar",
      data: {
        labels: m.sync_by_flow.map((s) => s.flow.replaceAll("_", " ")),
        datasets: [{
          label: "synced %",
          backgroundColor: "#10b981",
          data: m.sync_by_flow.map((s) => (s.rate === null ? 0 : Math.round(s.rate * 1000) / 10)),
        }],
      },
      options: { indexAxis: "y", scales: { x: { min: 0, max: 100, title: { display: true, text: "%" } } } },
    });
    const aging = m.exception_aging || [];
    draw("chart-aging", {
      type: "bar",
      data: {
        labels: aging.map((o) => o.owner),
        datasets: AGE_BUCKETS.map((b) => ({
          label: b.label, backgroundColor: b.color, data: aging.map((o) => o.age_buckets[b.key] || 0),
        })),
      },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
    });
    table($("table-sync-entity"), ["Flow", "Entity", ["Sources", "num"], ["Synced", "num"], ["Rate", "num"]],
      m.sync_by_entity.map((s) => h("tr", {}, h("td", {}, s.flow.replaceAll("_", " ")), h("td", {}, s.entity || "–"),
        h("td", { class: "num" }, s.sources), h("td", { class: "num" }, s.synced), h("td", { class: "num" }, percent(s.rate)))));
    $("operations").dataset.ready = "true";
    return m;
  }
}
