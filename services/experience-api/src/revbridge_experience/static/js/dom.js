// Small DOM helpers. Text always goes in as text (never innerHTML), so data from the API can't
// become markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function $(id) {
  return document.getElementById(id);
}

export function fill(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/** A table: headers are text, or [text, "num"] for a right-aligned column of figures. */
export function table(el, headers, rows) {
  const head = headers.map((t) => (Array.isArray(t) ? h("th", { scope: "col", class: t[1] }, t[0]) : h("th", { scope: "col" }, t)));
  return fill(el, h("thead", {}, h("tr", {}, head)), h("tbody", {}, rows));
}

let toastTimer;
export function toast(message, kind = "info") {
  const el = $("toast");
  el.textContent = message;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 6000);
}
