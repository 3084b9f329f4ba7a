// The in-page inbox: a badge in the header with the unread count (GET /notifications/unread-count, polled),
// a panel listing the user's notifications (mark one or all read), and the notification settings: email
// address, webhook URL and secret, and which events go by email or webhook (PUT /notifications/settings).
// Every account has an inbox; the API only ever shows the caller's own.

import { get, post, request } from "./api.js";
import { announce, clearFormErrors, control, el, formatDateTime, pager, quietly, runAction, showFormErrors } from "./dom.js";
import { label, lang, onLanguageChange, t } from "./i18n.js";

const POLL_MS = 60_000;
const PAGE_SIZE = 20;
const CHANNELS = ["email", "webhook"];

const state = { user: null, timer: null, unread: null, page: 1, items: [], pagination: null, settings: null, wired: false };
const newsListeners = new Set();

function byId(id) {
  return document.getElementById(id);
}

/**
 * `listener` is called when the unread count grows: something changed for this user elsewhere (a call-up
 * line waiting at their warehouse, a line of their call-up decided), so a list on screen may be stale.
 */
export function onInboxNews(listener) {
  newsListeners.add(listener);
}

/** After login: show the badge and start counting. */
export function initInbox(context) {
  state.user = context.user;
  state.unread = null;
  if (!state.wired) wire();
  byId("inbox-toggle").hidden = false;
  refreshCount();
  window.clearInterval(state.timer);
  state.timer = window.setInterval(refreshCount, POLL_MS);
}

/** At logout: forget everything and stop polling. */
export function resetInbox() {
  window.clearInterval(state.timer);
  Object.assign(state, { user: null, timer: null, unread: null, page: 1, items: [], pagination: null, settings: null });
  byId("inbox-toggle").hidden = true;
  byId("inbox-toggle").setAttribute("aria-expanded", "false");
  byId("inbox-panel").hidden = true;
  byId("inbox-list").replaceChildren();
  setBadge(0);
}

function wire() {
  state.wired = true;
  byId("inbox-toggle").addEventListener("click", toggle);
  byId("inbox-close").addEventListener("click", () => setOpen(false));
  byId("inbox-unread-only").addEventListener("change", () => load(1));
  byId("inbox-read-all").addEventListener("click", readAll);
  byId("inbox-settings-form").addEventListener("submit", saveSettings);
  byId("inbox-rotate-secret").addEventListener("click", rotateSecret);
  onLanguageChange(() => {
    if (!state.user) return;
    renderList();
    if (state.settings) renderSettings();
  });
}

async function refreshCount() {
  if (!state.user) return;
  await quietly(async () => {
    const { unread } = await get("/notifications/unread-count");
    const grew = state.unread !== null && unread > state.unread;
    state.unread = unread;
    setBadge(unread);
    if (grew) newsListeners.forEach((listener) => listener());
  });
}

function setBadge(count) {
  const badge = byId("inbox-badge");
  badge.textContent = count > 99 ? "99+" : String(count);
  badge.hidden = count === 0;
  byId("inbox-toggle").setAttribute("aria-label", t("inbox.button_label", { count }));
}

function toggle() {
  setOpen(byId("inbox-panel").hidden);
}

async function setOpen(open) {
  byId("inbox-panel").hidden = !open;
  byId("inbox-toggle").setAttribute("aria-expanded", String(open));
  if (!open) {
    byId("inbox-toggle").focus();
    return;
  }
  byId("inbox-heading").focus();
  await Promise.all([load(1), loadSettings()]);
}

async function load(page = 1) {
  await runAction({ region: byId("inbox-list") }, async () => {
    const query = { page, page_size: PAGE_SIZE, unread: byId("inbox-unread-only").checked || undefined };
    const { data, pagination } = await request("/notifications", { query });
    Object.assign(state, { items: data, pagination, page });
    renderList();
  });
  refreshCount();
}

function renderList() {
  const list = byId("inbox-list");
  if (!state.items.length) {
    list.replaceChildren(el("p", { class: "hint", text: t("inbox.empty") }));
    return;
  }
  const zh = lang() === "zh";
  list.replaceChildren(
    el(
      "ul",
      { class: "inbox-items" },
      state.items.map((item) =>
        el(
          "li",
          { class: item.read_at ? "inbox-item" : "inbox-item unread", dataset: { id: item.id, kind: item.kind } },
          el("p", { class: "inbox-title" }, el("strong", { text: zh ? item.title_zh : item.title_en })),
          el("p", { class: "meta", text: `${formatDateTime(item.created_at)} · ${kindLabel(item.kind)}` }),
          el("ul", { class: "inbox-lines" }, (zh ? item.lines_zh : item.lines_en).map((line) => el("li", { text: line }))),
          item.read_at
            ? null
            : el("button", { type: "button", class: "secondary", text: t("inbox.mark_read"), on: { click: () => markRead(item) } }),
        ),
      ),
    ),
    pager(state.pagination, load),
  );
}

function kindLabel(kind) {
  const entry = state.settings?.kinds?.find((one) => one.code === kind);
  return entry ? label(entry) : kind;
}

async function markRead(item) {
  await runAction({}, async () => {
    Object.assign(item, await post(`/notifications/${item.id}/read`));
    renderList();
    refreshCount();
  });
}

async function readAll() {
  await runAction({ buttons: byId("inbox-read-all") }, async () => {
    await post("/notifications/read-all");
    await load(state.page);
  });
}

// --- settings ------------------------------------------------------------------------------------------

async function loadSettings() {
  await runAction({}, async () => {
    state.settings = await get("/notifications/settings");
    renderSettings();
    // The list names each kind by the settings' labels: one drawn before they came showed the codes.
    if (state.items.length) renderList();
  });
}

function renderSettings() {
  const form = byId("inbox-settings-form");
  const settings = state.settings;
  control(form, "email").value = settings.email;
  control(form, "webhook_url").value = settings.webhook_url;
  byId("inbox-secret").textContent = settings.webhook_secret || t("inbox.no_secret");
  byId("inbox-rotate-secret").hidden = !settings.webhook_secret;
  const rows = settings.kinds.map((kind) =>
    el(
      "tr",
      {},
      el("th", { scope: "row", text: label(kind) }),
      CHANNELS.map((channel) =>
        el(
          "td",
          {},
          el("input", {
            type: "checkbox",
            name: "subscriptions",
            value: `${kind.code}:${channel}`,
            checked: (settings.subscriptions[kind.code] || []).includes(channel),
            "aria-label": `${label(kind)} — ${t(`inbox.channel.${channel}`)}`,
          }),
        ),
      ),
    ),
  );
  byId("inbox-subscriptions").replaceChildren(
    el(
      "table",
      { class: "inbox-optins" },
      el("caption", { class: "visually-hidden", text: t("inbox.optins") }),
      el(
        "thead",
        {},
        el("tr", {}, el("th", { scope: "col", text: t("inbox.event") }), CHANNELS.map((c) => el("th", { scope: "col", text: t(`inbox.channel.${c}`) }))),
      ),
      el("tbody", {}, rows),
    ),
  );
}

async function saveSettings(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearFormErrors(form);
  const subscriptions = Object.fromEntries(state.settings.kinds.map((kind) => [kind.code, []]));
  for (const box of form.querySelectorAll("input[name=subscriptions]:checked")) {
    const [kind, channel] = box.value.split(":");
    subscriptions[kind].push(channel);
  }
  const body = {
    email: control(form, "email").value.trim(),
    webhook_url: control(form, "webhook_url").value.trim(),
    subscriptions,
  };
  await runAction({ buttons: form.querySelector("button[type=submit]"), onProblem: (error) => showFormErrors(form, error) }, async () => {
    state.settings = await request("/notifications/settings", { method: "PUT", body }).then((answer) => answer.data);
    renderSettings();
    byId("inbox-settings-status").textContent = t("common.saved");
    announce(t("common.saved"), "ok");
  });
}

async function rotateSecret() {
  await runAction({ buttons: byId("inbox-rotate-secret") }, async () => {
    state.settings = await post("/notifications/settings/webhook-secret");
    renderSettings();
  });
}
