// One door to the JSON API: same-origin cookie session, the CSRF token (kept in memory only) on
// every write, problem JSON turned into ApiError with a flat field → messages map.

import { locale, t } from "./i18n.js";

const BASE = "/api/v1";
const SAFE = new Set(["GET", "HEAD"]);

// What the page may call without a login; anything else needs the session (and its CSRF token).
const ANONYMOUS = new Set(["/auth/login", "/page/session", "/page-config", "/health"]);

// The problem code of a write whose CSRF token is not the session's (api/identity.py).
const CSRF_REFUSED = "csrf_missing";

let csrfToken = null;
let sessionUser = null; // whose session the token belongs to
let signingOut = false;
let onUnauthenticated = () => {};

export function setCsrfToken(token, username = null) {
  csrfToken = token || null;
  sessionUser = csrfToken ? username : null;
  signingOut = false;
}

/** Called with (error, why) when this page's login is over: why is "expired" (the API answered 401: the session
 * ended elsewhere), "other" (another user's login took its place) or "token" (a write's token refused again). */
export function setUnauthenticatedHandler(handler) {
  onUnauthenticated = handler;
}

/** The code of a problem whose detail lists its field errors by the API's field names (api/errors.py). */
export const FIELD_ERRORS = "field_errors";

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.fields = flattenErrors(problem.errors || {});
    // Each field message's {code, params} (api/errors.py error_codes), at the same place as its message.
    this.fieldCodes = flattenErrors(problem.error_codes || {}, "", (entry) => entry);
  }
}

/**
 * A call made after logging out (a view still loading when the user left): refused here, without
 * asking the server, which would only answer 401. The page is already back at the login form.
 */
export class SessionEnded extends ApiError {
  constructor() {
    super(401, { title: "Logged out", detail: "the page has no login session" });
  }
}

/** {"needs": {"0": {"quantity": ["…"]}}} → {"needs.0.quantity": ["…"]}; `leaf` makes each entry of a list. */
export function flattenErrors(errors, prefix = "", leaf = String) {
  const flat = {};
  for (const [key, value] of Object.entries(errors)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === "object" && !Array.isArray(value)) {
      Object.assign(flat, flattenErrors(value, name, leaf));
    } else {
      flat[name] = (Array.isArray(value) ? value : [value]).map(leaf);
    }
  }
  return flat;
}

export function apiUrl(path, query = {}) {
  const url = new URL(BASE + path, window.location.origin);
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "" || value === false) continue;
    if (Array.isArray(value)) value.forEach((one) => url.searchParams.append(key, one));
    else url.searchParams.set(key, String(value));
  }
  return url;
}

/**
 * Call the API. Returns {data, pagination, response}; `raw: true` leaves the body unread
 * (downloads). `body` is sent as JSON, `form` (FormData) as multipart.
 */
export async function request(path, options = {}) {
  const { method = "GET", query, body, form, raw = false } = options;
  if ((signingOut || !csrfToken) && !ANONYMOUS.has(path)) throw new SessionEnded();
  // The server answers problems (titles, details, field messages) in the page's language.
  const headers = { Accept: "application/json", "Accept-Language": locale() };
  if (!SAFE.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  // From the logout on, nothing else goes out with a session that is about to end.
  if (path === "/auth/logout") signingOut = true;
  let payload;
  if (form) {
    payload = form;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(apiUrl(path, query), { method, headers, body: payload, credentials: "same-origin" });
  } catch (error) {
    if (path === "/auth/logout") signingOut = false;
    // The browser's own words ("Failed to fetch") are English whatever the page's language.
    throw new ApiError(0, { title: t("status.network_title"), detail: t("status.network_detail") });
  }
  if (!response.ok) {
    if (path === "/auth/logout" && response.status !== 401) signingOut = false; // still logged in
    let problem;
    try {
      problem = await response.json();
    } catch {
      // Not the API's problem JSON (a proxy's error page): say so in the page's language.
      problem = { title: t("common.error"), detail: t("status.http_error", { status: response.status }) };
    }
    const error = new ApiError(response.status, problem);
    if (response.status === 401 && path !== "/auth/login") onUnauthenticated(error);
    if (response.status === 403 && problem.code === CSRF_REFUSED) return renewAndRetry(path, options, error);
    throw error;
  }
  const header = response.headers.get("X-Pagination");
  const pagination = header ? JSON.parse(header) : null;
  if (raw) return { data: null, pagination, response };
  const data = response.status === 204 ? null : await response.json();
  return { data, pagination, response };
}

/**
 * A write refused for its CSRF token. Logged in again in another tab: the cookie now names a new session,
 * whose token this page never saw. The same user: take that token and send the write once more. Anyone
 * else, or the token refused again: this page's login is over, and the user is asked to log in again.
 * The question not answered: the write was not made and the login stays; the user hears that, and to try
 * again (not that the server is unreachable: it has just answered the write, and may answer the next).
 */
async function renewAndRetry(path, options, refused) {
  if (options.renewed) {
    onUnauthenticated(refused, "token");
    throw new SessionEnded();
  }
  const owner = await sessionOwner();
  if (owner === "same") return request(path, { ...options, renewed: true });
  if (owner === "unreachable") {
    throw new ApiError(refused.status, { title: t("status.token_unchecked_title"), detail: t("status.token_unchecked") });
  }
  if (owner !== "left") onUnauthenticated(refused, owner === "other" ? "other" : "expired");
  throw new SessionEnded();
}

/**
 * Whose session the browser's cookie names now, for this page's login: "same" (a login again in another
 * tab: its token replaces ours), "other" (another user's login there), "none" (logged out there),
 * "left" (this page logged out while the question was out: the answer is about a login that is gone) or
 * "unreachable" (the question did not get through; nothing changes).
 */
export async function sessionOwner() {
  const user = sessionUser;
  let state;
  try {
    state = (await request("/page/session")).data;
  } catch (error) {
    if (error instanceof ApiError) return "unreachable";
    throw error;
  }
  if (user && (sessionUser !== user || signingOut)) return "left";
  if (!user || !state.user || !state.csrf_token) return "none";
  if (state.user.username !== user) return "other";
  setCsrfToken(state.csrf_token, user);
  return "same";
}

export async function get(path, query) {
  return (await request(path, { query })).data;
}

export async function post(path, body) {
  return (await request(path, { method: "POST", body })).data;
}
