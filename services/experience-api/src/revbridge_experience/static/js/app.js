// The revops dashboard: sign in (PKCE), then the revenue, operations, exceptions and lineage views.

import { Api } from "./api.js";
import { beginSignIn, completeSignIn, currentSession, discover, signOut } from "./auth.js";
import { $, toast } from "./dom.js";
import { ExceptionsView } from "./exceptions.js";
import { LineageView } from "./lineage.js";
import { OperationsView } from "./operations.js";
import { RevenueView } from "./revenue.js";
import { WaterfallView } from "./waterfall.js";

function showSignIn(message) {
  $("loading").hidden = true;
  $("app").hidden = true;
  $("nav").hidden = true;
  $("who").hidden = true;
  $("signin-panel").hidden = false;
  $("signin-message").hidden = !message;
  $("signin-message").textContent = message || "";
  document.body.dataset.state = "signed-out";
}

function report(view) {
  return (err) => toast(`${view}: ${err.message}`, "error");
}

async function start(session) {
  $("loading").hidden = true;
  $("signin-panel").hidden = true;
  $("app").hidden = false;
  $("nav").hidden = false;
  $("who").hidden = false;
  $("user").textContent = session.user;
  document.body.dataset.state = "signed-in";
  const api = new Api(session, () => showSignIn("Your session has expired. Sign in again."));
  const lineage = new LineageView(api);
  const open = (scope, key) => lineage.show(scope, key);
  const revenue = new RevenueView(api, open);
  const waterfall = new WaterfallView(api);
  const operations = new OperationsView(api);
  const exceptions = new ExceptionsView(api, open);

  $("revenue-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    revenue.load($("filter-entity").value || undefined, $("filter-currency").value || undefined).catch(report("Revenue"));
    waterfall.load($("filter-entity").value || undefined).catch(report("Waterfall"));
  });
  $("refresh-operations").addEventListener("click", () => operations.load().catch(report("Operations")));
  $("exception-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    exceptions.load().catch(report("Exceptions"));
  });
  $("lineage-form").addEventListener("submit", (e) => {
    e.preventDefault();
    open($("lineage-scope").value, $("lineage-key").value.trim());
  });
  await Promise.all([
    revenue.load().catch(report("Revenue")),
    waterfall.load().catch(report("Waterfall")),
    operations.load().catch(report("Operations")),
    exceptions.load().catch(report("Exceptions")),
  ]);
}

async function main() {
  $("sign-in").addEventListener("click", () => beginSignIn().catch((err) => showSignIn(err.message)));
  $("sign-out").addEventListener("click", () => {
    signOut();
    showSignIn("Signed out.");
  });
  let meta;
  try {
    meta = await discover();
  } catch (err) {
    showSignIn(err.message);
    return;
  }
  if (new URL(meta.issuer).origin !== location.origin && !location.search) {
    location.replace(`${new URL(meta.issuer).origin}/dashboard/`); // the redirect URI is registered there
    return;
  }
  let session;
  try {
    session = (await completeSignIn(meta)) || currentSession();
  } catch (err) {
    showSignIn(err.message);
    return;
  }
  if (!session) {
    showSignIn();
    return;
  }
  await start(session);
}

main();
