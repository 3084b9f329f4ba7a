// The web page: login, then the views each role needs. No build step: plain ES modules.
//   js/stock.js   warehouses, stock lines, movements and history (managers, provincial staff)
//   js/map.js     nearest stock on a map, plans (responders)
//   js/callups.js call-ups: raised from a plan and followed (map view), dispatched or declined
//                 by the source warehouses (stock view)
//   js/readiness.js expiring stock (stock view) and the coverage-gap map layer (map view)
//   js/ledgers.js ledger upload with a dry-run report, template, export (provincial staff)
//   js/inbox.js   the header's unread badge, the inbox and the notification settings (every role)
//   js/incidents.js incidents: shipments, receipt, consumption, returns, settlement
//   map.js's helpers: js/basemap.js (tiles or our own base layer, label declutter), js/results.js and
//   js/planview.js (the answer and the plan on screen), js/plandraft.js (the draft kept per account),
//   js/suggest.js + js/needcheck.js (suggestions, needs checked as typed); js/holdings.js (who holds stock)

import "./js/page-labels.js"; // first: the labels it adds are there before the page is translated
import { ApiError, SessionEnded, get, request, sessionOwner, setCsrfToken, setUnauthenticatedHandler } from "./js/api.js";
import { announce, announceProblem, clearFormErrors, control, showFormErrors } from "./js/dom.js";
import { applyTranslations, lang, onLanguageChange, setLanguage, t } from "./js/i18n.js";
import { initInbox, resetInbox } from "./js/inbox.js";

/** Which views each role gets, the first being where it lands after login. */
const VIEWS_BY_ROLE = {
  admin: ["stock", "map", "ledgers", "incidents"],
  provincial: ["ledgers", "stock", "map", "incidents"],
  manager: ["stock", "map", "incidents"],
  responder: ["map", "stock", "incidents"],
  viewer: ["stock", "map", "incidents"],
};
const NAV_ORDER = ["stock", "map", "ledgers", "incidents"];
const loaders = {
  stock: () => import("./js/stock.js"),
  map: () => import("./js/map.js"),
  ledgers: () => import("./js/ledgers.js"),
  incidents: () => import("./js/incidents.js"),
};

const context = { user: null, config: null, reference: null, labels: {} };
// Why a login ended without the user's asking (api.js's unauthenticated handler, the check on returning).
const LOGIN_ENDED = { expired: "status.session_expired", other: "status.session_changed", token: "status.token_refused" };
const started = new Map(); // view name → module, once initialised for this login
let currentView = null;

function byId(id) {
  return document.getElementById(id);
}

async function boot() {
  // Every form is handled by script; never let the browser submit one itself (it would put the
  // fields in the URL and reload the page). Handlers still run: this only cancels the default.
  document.addEventListener("submit", (event) => event.preventDefault(), true);
  applyTranslations(document);
  markToggleLanguage();
  byId("lang-toggle").addEventListener("click", () => setLanguage(lang() === "zh" ? "en" : "zh"));
  onLanguageChange(() => {
    markToggleLanguage();
    renderWho();
  });
  byId("login-form").addEventListener("submit", onLogin);
  byId("logout").addEventListener("click", onLogout);
  for (const button of byId("views-nav").querySelectorAll("button[data-view]")) {
    button.addEventListener("click", () => showView(button.dataset.view, true));
  }
  setUnauthenticatedHandler((error, why = "expired") => endLogin(why));
  // Back on this tab: the browser's session may have changed in another one (a logout, another user's
  // login), and reads would go out as whoever is logged in now under this page's name and buttons. The
  // session is asked first; only while it is still this user's do the views ask their answers again (a
  // re-ask sent beside the check met the expired session on its own: a 401 the check was about to explain).
  document.addEventListener("visibilitychange", async () => {
    if (document.visibilityState !== "visible" || !context.user) return;
    if (!(await checkSession())) return;
    for (const module of started.values()) module.shownAgain?.();
  });
  try {
    const [config, state] = await Promise.all([get("/page-config"), get("/page/session")]);
    context.config = config;
    byId("demo-banner").hidden = !config.demo; // invented warehouses and phone numbers: say so
    if (state.user && state.csrf_token) await enter(state.user, state.csrf_token);
    else showLogin();
  } catch (error) {
    if (error instanceof SessionEnded) return; // logged out while the view was loading: already at login
    showLogin();
    // "Cannot reach the server" only when it did not answer; an answer (a 503 while its database is away) says
    // what the server said.
    if (error instanceof ApiError && error.status !== 0) announceProblem(error);
    else announce(t("status.network", { message: error.message }), "error");
  }
}

/** The session the cookie names now: true while it is still this page's user's (its token taken, or the
 * question did not get through: the next request will tell), false once this login is over. */
async function checkSession() {
  const owner = await sessionOwner();
  if (owner === "other" || owner === "none") endLogin(owner === "other" ? "other" : "expired");
  return Boolean(context.user) && owner !== "left";
}

/** This login is over without the user's asking: say why, once. What the views were asking (the map's
 * question) is kept for the same user's next login here and asked again then; another user starts clean. */
function endLogin(why) {
  if (!context.user) return; // already ended (the check and a refused request may both say so)
  leave({ resumable: true });
  announce(t(LOGIN_ENDED[why]), "error");
}

/** The toggle names the other language in that language: say so, for screen readers. */
function markToggleLanguage() {
  byId("lang-toggle").lang = lang() === "zh" ? "en" : "zh-CN";
}

function showLogin() {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== "view-login";
  byId("views-nav").hidden = true;
  byId("who").hidden = true;
  byId("logout").hidden = true;
  byId("login-username").focus();
}

async function onLogin(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearFormErrors(form);
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  announce(t("login.busy"));
  try {
    const data = await request("/auth/login", {
      method: "POST",
      body: { username: control(form, "username").value.trim(), password: control(form, "password").value },
    });
    form.reset();
    await enter(data.data.user, data.data.csrf_token, true);
  } catch (error) {
    if (error instanceof SessionEnded) return; // logged out again before the first view had loaded
    announce(t("login.failed"), "error");
    if (error instanceof ApiError) showFormErrors(form, error);
    else throw error;
  } finally {
    submit.disabled = false;
  }
}

async function onLogout() {
  try {
    await request("/auth/logout", { method: "POST" });
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) throw error;
  }
  leave();
  announce(t("status.logged_out"));
}

/** Forget everything about the last user: the next login starts from a clean page. `resumable`: the login
 * ended by itself, and a view may keep what it was asking for the same user's next login (reset's argument). */
function leave({ resumable = false } = {}) {
  const username = resumable ? context.user?.username : null;
  setCsrfToken(null);
  context.user = null;
  for (const module of started.values()) module.reset?.(username);
  started.clear();
  currentView = null;
  resetInbox();
  showLogin();
}

async function enter(user, csrfToken, moveFocus = false) {
  setCsrfToken(csrfToken, user.username);
  context.user = user;
  if (!context.reference) {
    context.reference = await get("/reference");
    for (const [group, entries] of Object.entries(context.reference)) {
      context.labels[group] = Object.fromEntries(entries.map((entry) => [entry.code, entry]));
    }
  }
  byId("view-login").hidden = true;
  const allowed = VIEWS_BY_ROLE[user.role] || ["stock"];
  const nav = byId("views-nav");
  for (const button of nav.querySelectorAll("button[data-view]")) button.hidden = !allowed.includes(button.dataset.view);
  // Keep the nav in one fixed order; the role's landing view is simply the one shown first.
  nav.replaceChildren(...NAV_ORDER.map((name) => nav.querySelector(`button[data-view="${name}"]`)));
  nav.hidden = false;
  announce(t("status.logged_in", { name: user.username, role: t(`role.${user.role}`) }), "ok");
  const requested = window.location.hash.slice(1);
  await showView(allowed.includes(requested) ? requested : allowed[0], moveFocus);
  renderWho(); // last: "who is logged in" appears once the first view is wired and shown
  initInbox(context);
}

function renderWho() {
  if (!context.user) return;
  byId("who-name").textContent = context.user.username;
  byId("who-role").textContent = t(`role.${context.user.role}`);
  byId("who").hidden = false;
  byId("logout").hidden = false;
}

async function showView(name, moveFocus) {
  const allowed = VIEWS_BY_ROLE[context.user?.role] || [];
  if (!allowed.includes(name)) return;
  currentView = name;
  let module = started.get(name);
  if (!module) {
    // Load and wire the view before showing it: a form shown before its handlers are attached
    // would be submitted by the browser itself.
    module = await loaders[name]();
    started.set(name, module);
    await module.init(context);
  }
  if (currentView !== name) return;
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== `view-${name}`;
  for (const button of byId("views-nav").querySelectorAll("button[data-view]")) {
    if (button.dataset.view === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  if (window.location.hash !== `#${name}`) window.history.replaceState(null, "", `#${name}`);
  await module.show?.(context);
  if (moveFocus) {
    const heading = byId(`view-${name}`).querySelector("h2:not(.visually-hidden), h3");
    heading.tabIndex = -1;
    heading.focus();
  }
}

window.addEventListener("unhandledrejection", (event) => {
  // An API failure nobody caught still reaches the user, in words rather than a silent console.
  if (event.reason instanceof SessionEnded) {
    event.preventDefault(); // a view still loading when the user logged out: nothing to say
  } else if (event.reason instanceof ApiError) {
    event.preventDefault();
    announceProblem(event.reason);
  }
});

boot();
