// The experience API through the gateway, with the signed-in user's bearer token.

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export class Api {
  constructor(session, onExpired) {
    this.session = session;
    this.onExpired = onExpired;
  }

  async request(method, path, { query, body } = {}) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query || {})) if (v !== undefined && v !== null && v !== "") params.set(k, v);
    const url = `/experience/v2${path}${params.size ? `?${params}` : ""}`;
    const headers = { Authorization: `Bearer ${this.session.accessToken}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const payload = await response.json().catch(() => ({}));
    if (response.status === 401) this.onExpired();
    if (!response.ok) throw new ApiError(response.status, payload);
    return payload;
  }

  get(path, query) {
    return this.request("GET", path, { query });
  }

  post(path, body) {
    return this.request("POST", path, { body });
  }
}
