// Lineage of a contract, customer or invoice: CRM contract → billing customer and subscription →
// invoices → ERP invoice → payments → journal entries, each record with its id, time, status and trace.

import { $, fill, h } from "./dom.js";
import { money, when } from "./format.js";

function record(label, r) {
  if (!r) return h("div", { class: "rec missing" }, h("div", { class: "rec-label" }, label), "not yet");
  return h("div", { class: "rec", dataset: { system: r.system, recordId: r.id }, title: r.trace_id ? `trace ${r.trace_id}` : "" },
    h("div", { class: "rec-label" }, `${label} · ${r.system}`),
    h("div", { class: "mono" }, r.id),
    h("div", { class: "rec-meta" }, [r.status, r.amount !== null && r.amount !== undefined ? money(r.amount, r.currency) : null, when(r.occurred_at)].filter(Boolean).join(" · ")),
    r.trace_id ? h("div", { class: "rec-trace mono" }, `trace ${r.trace_id.slice(0, 16)}…`) : null);
}

function many(label, records) {
  return records.length ? records.map((r) => record(label, r)) : [record(label, null)];
}

export class LineageView {
  constructor(api) {
    this.api = api;
  }

  async show(scope, key) {
    $("lineage-scope").value = scope;
    $("lineage-key").value = key;
    const out = $("lineage-result");
    out.dataset.state = "loading";
    try {
      const lineage = await this.api.get("/lineage", { [scope]: key });
      this.render(lineage);
      out.dataset.state = "shown";
    } catch (err) {
      fill(out, h("p", { class: "error" }, err.status === 404 ? `No lineage for ${key}.` : `Lineage failed: ${err.message}`));
      out.dataset.state = "error";
    }
    $("lineage").scrollIntoView({ block: "start" });
  }

  render(lineage) {
    const contracts = lineage.contracts.map((c) =>
      h("article", { class: "lineage-contract", dataset: { contractId: c.contract_id } },
        h("h3", {}, `Contract ${c.contract_id}`),
        h("div", { class: "flow" }, record("CRM contract", c.contract), record("Billing customer", c.billing_customer),
          record("Subscription", c.subscription), record("ERP customer", c.erp_customer)),
        c.invoices.length ? null : h("p", { class: "meta" }, "No invoices yet."),
        c.invoices.map((i) =>
          h("div", { class: "lineage-invoice", dataset: { invoiceId: i.invoice_id, reconciled: String(i.reconciled) } },
            h("h4", {}, `Invoice ${i.invoice_id} `, h("span", { class: `badge ${i.reconciled ? "ok" : "warn"}` }, i.reconciled ? "reconciled" : "not reconciled")),
            h("div", { class: "flow" }, record("Billed", i.billed), record("ERP invoice", i.posted),
              many("Payment", i.payments), many("ERP payment", i.posted_payments),
              many("Journal entry", i.journal_entries), i.adjustments.map((a) => record("Adjustment", a)))))));
    fill($("lineage-result"),
      h("p", { class: "meta" }, `${lineage.scope} ${lineage.key}: ${lineage.contracts.length} contract(s)` +
        (lineage.truncated ? " (newest invoices only)" : "") +
        (lineage.trace_ids.length ? ` · traces ${lineage.trace_ids.join(", ")}` : "")),
      contracts.length ? contracts : h("p", { class: "meta" }, "Nothing recorded yet."));
  }
}
