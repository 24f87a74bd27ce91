// Browser sign-in against the gateway's token service: OAuth 2.0 authorization code with PKCE (S256).
//
// The code verifier and the state live in this tab's sessionStorage only until the answer comes
// back; the access token lives in sessionStorage (this tab, gone when it closes) and is sent only
// as a bearer token to this origin. There is no refresh token: when the token expires the page
// asks to sign in again.

export const CLIENT_ID = "revops-web";
export const SCOPE = "reports:read exceptions:read exceptions:write";
const PKCE_KEY = "revbridge.dashboard.pkce";
const TOKEN_KEY = "revbridge.dashboard.token";

function b64url(bytes) {
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString(bytes) {
  const buffer = new Uint8Array(bytes);
  crypto.getRandomValues(buffer);
  return b64url(buffer);
}

async function challengeOf(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return b64url(new Uint8Array(digest));
}

export function redirectUri() {
  return `${location.origin}/dashboard/`;
}

/** The gateway's RFC 8414 metadata (same origin: the gateway serves this page). */
export async function discover() {
  const response = await fetch("/.well-known/oauth-authorization-server", { cache: "no-store" });
  if (!response.ok) throw new Error(`token service metadata: HTTP ${response.status}`);
  const meta = await response.json();
  if (!meta.authorization_endpoint || !(meta.code_challenge_methods_supported || []).includes("S256")) {
    throw new Error("this gateway offers no browser sign-in (sandbox mode only; use an external issuer)");
  }
  return meta;
}

export async function beginSignIn() {
  const verifier = randomString(48);
  const state = randomString(24);
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
  const query = new URLSearchParams({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: redirectUri(),
    scope: SCOPE,
    state,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: "S256",
  });
  location.assign(`/oauth/authorize?${query}`);
}

function claimsOf(jwt) {
  try {
    const payload = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload));
  } catch {
    return {};
  }
}

/** Finish a sign-in if this page load is the redirect back; null when it isn't. */
export async function completeSignIn(meta) {
  const params = new URLSearchParams(location.search);
  if (!params.has("code") && !params.has("error")) return null;
  history.replaceState(null, "", location.pathname + location.hash); // the code leaves the address bar
  const pending = JSON.parse(sessionStorage.getItem(PKCE_KEY) || "null");
  sessionStorage.removeItem(PKCE_KEY);
  if (!pending || params.get("state") !== pending.state) {
    throw new Error("the sign-in answer does not belong to this tab; sign in again");
  }
  if (params.has("error")) throw new Error(params.get("error_description") || params.get("error"));
  if (params.has("iss") && params.get("iss") !== meta.issuer) throw new Error("sign-in answer from another issuer");
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code: params.get("code"),
    redirect_uri: redirectUri(),
    client_id: CLIENT_ID,
    code_verifier: pending.verifier,
  });
  const response = await fetch("/oauth/token", { method: "POST", body });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(answer.error_description || `token endpoint: HTTP ${response.status}`);
  const claims = claimsOf(answer.access_token);
  const session = {
    accessToken: answer.access_token,
    expiresAt: Date.now() + answer.expires_in * 1000,
    scope: answer.scope,
    user: claims.sub || "?",
  };
  sessionStorage.setItem(TOKEN_KEY, JSON.stringify(session));
  return session;
}

export function currentSession() {
  const session = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
  return session && session.expiresAt > Date.now() + 5000 ? session : null;
}

export function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
}
