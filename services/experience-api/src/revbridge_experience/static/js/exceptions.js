// The exception queue with aging and the three actions. Reads and actions go through the
// experience API to the process API, which owns the queue; each action's answer (the record as it
// now stands) replaces its row at once.

import { $, h, table, toast } from "./dom.js";
import { seconds, when } from "./format.js";

function lineageTarget(record) {
  if (record.flow === "onboarding" || record.flow.startsWith("contract")) return ["contract_id", record.business_key];
  if (/^in_/.test(record.business_key)) return ["invoice_id", record.business_key];
  return null;
}

export class ExceptionsView {
  constructor(api, openLineage) {
    this.api = api;
    this.openLineage = openLineage;
    this.owners = new Set();
  }

  async load() {
    const status = $("filter-status").value;
    const overdue = $("filter-overdue").checked ? "true" : undefined;
    const page = await this.api.get("/exceptions", { status, overdue, limit: 100 });
    page.items.forEach((r) => this.owners.add(r.owner));
    table($("table-exceptions"),
      ["Business key", "Flow", "Error", "Reason", "Owner", "Status", ["Attempts", "num"], "Age", "SLA due", "Actions"],
      page.items.map((r) => this.row(r)));
    $("exceptions-empty").hidden = page.items.length > 0 && !page.next_cursor;
    $("exceptions-empty").textContent = page.items.length ? "The first 100 are shown: filter to see others." : "No exceptions match.";
    $("exceptions").dataset.ready = "true";
    return page;
  }

  row(r) {
    const target = lineageTarget(r);
    const live = r.status !== "resolved";
    const act = (label, action, extra = {}) =>
      h("button", { type: "button", class: "small", disabled: !live, dataset: { action }, ...extra, onclick: (e) => this.act(r, action, e) }, label);
    return h("tr", { dataset: { exceptionId: r.id, status: r.status, attempts: String(r.attempts), overdue: String(r.overdue) } },
      h("td", { class: "mono" }, target
        ? h("button", { type: "button", class: "link", onclick: () => this.openLineage(...target) }, r.business_key)
        : r.business_key),
      h("td", {}, r.flow), h("td", {}, r.error_class.replaceAll("_", " ")),
      h("td", { class: "reason", title: r.reason }, r.reason),
      h("td", { dataset: { field: "owner" } }, r.owner),
      h("td", { dataset: { field: "status" } }, h("span", { class: `badge ${r.status}` }, r.status)),
      h("td", { class: "num", dataset: { field: "attempts" } }, r.attempts),
      h("td", { class: "nowrap" }, seconds(r.age_seconds), r.overdue ? h("span", { class: "badge warn" }, "overdue") : null),
      h("td", {}, when(r.sla_due)),
      h("td", { class: "actions" }, act("Retry", "retry"), act("Resolve", "resolve"), act("Reassign", "reassign")));
  }

  async act(record, action, event) {
    const row = event.target.closest("tr");
    if (action === "retry") return this.send(row, record, "retry", undefined);
    this.inlineForm(row, record, action);
  }

  inlineForm(row, record, action) {
    row.parentElement.querySelectorAll("tr.inline").forEach((el) => el.remove());
    const note = h("input", { name: "note", placeholder: action === "resolve" ? "what was done (required)" : "note (optional)",
      required: action === "resolve", maxlength: "2000" });
    const ownerList = h("datalist", { id: "owners" }, [...this.owners].map((o) => h("option", { value: o })));
    const owner = action === "reassign" ? h("input", { name: "owner", list: "owners", required: true, maxlength: "100", placeholder: "owner team" }) : null;
    const form = h("form", { class: "inline-form", dataset: { action } }, owner, ownerList, note,
      h("button", { type: "submit", class: "small" }, action === "resolve" ? "Resolve" : "Reassign"),
      h("button", { type: "button", class: "ghost small", onclick: () => inline.remove() }, "Cancel"));
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      const body = action === "resolve" ? { note: note.value } : { owner: owner.value, ...(note.value ? { note: note.value } : {}) };
      if (await this.send(row, record, action, body)) inline.remove();
    });
    const inline = h("tr", { class: "inline" }, h("td", { colspan: "10" }, form));
    row.after(inline);
    (owner || note).focus();
  }

  async send(row, record, action, body) {
    try {
      const updated = await this.api.post(`/exceptions/${encodeURIComponent(record.id)}/${action}`, body);
      this.owners.add(updated.owner);
      row.replaceWith(this.row(updated));
      toast(`${action} ${record.business_key}: status ${updated.status}, attempts ${updated.attempts}, owner ${updated.owner}`, "ok");
      return true;
    } catch (err) {
      toast(`${action} failed: ${err.message}`, "error");
      return false;
    }
  }
}
