// Call-up orders (调用单) on the page.
//   Responders (and provincial staff, administrators): raise one from the plan they built, follow
//   it (needs against what is held, lines per warehouse and batch, status history), refresh it,
//   cancel it while open, and page through their own call-ups. Used by map.js.
//   Managers (and provincial staff, administrators for a warehouse they may change): the lines
//   waiting for their warehouses, each dispatched (a ledger issue referencing the order) or
//   declined with a reason. Used by stock.js.

import { get, post, request } from "./api.js";
import {
  announce,
  clear,
  clearFormErrors,
  control,
  el,
  formatDateTime,
  formatQuantity,
  pager,
  quietly,
  runAction,
  showFormErrors,
  table,
  whileBusy,
} from "./dom.js";
import { labelled, onLanguageChange, referenceLabel, t } from "./i18n.js";
import { onInboxNews } from "./inbox.js";

const RAISING_ROLES = new Set(["responder", "provincial", "admin"]);
const HELD = new Set(["reserved", "dispatched"]);
const MINE_PAGE_SIZE = 10;
const QUEUE_PAGE_SIZE = 20;
const QUEUE_FETCH_SIZE = 100;
const QUEUE_FETCH_PAGES = 5;
const STATUS_BADGE = { open: "badge open", completed: "badge ok", cancelled: "badge muted" };
const LINE_BADGE = {
  reserved: "badge expiring",
  dispatched: "badge ok",
  declined: "badge expired",
  cancelled: "badge muted",
};

function byId(id) {
  return document.getElementById(id);
}

/** Whether this user may raise call-ups (the API checks it again). */
export function canRaise(user) {
  return RAISING_ROLES.has(user?.role);
}

/** A call-up's status in the page's language: the reference vocabulary's label (inventory/reference.py
 * CallUpStatus, through /reference), the one home; the page's own list lacked "unfilled" and showed its key. */
function statusLabel(status) {
  return referenceLabel(context()?.labels, "callup_statuses", status);
}

/** A call-up line's status in the page's language (CallUpLineStatus, through /reference). */
export function lineStatusLabel(status) {
  return referenceLabel(context()?.labels, "callup_line_statuses", status);
}

/** The page's context, as either part was given it (the same object). */
function context() {
  return mine.ctx || queue.ctx;
}

/** A cell with a main value and a smaller second one under it (a code, a date). */
function twoLines(main, sub) {
  return el("td", {}, el("span", { class: "name", text: main }), sub ? el("span", { class: "code", text: sub }) : null);
}

function telLink(phone) {
  return el("a", { href: `tel:${phone.replace(/[^\d+]/g, "")}`, text: phone });
}

/** item code → {name, unit} from the order's needs (its lines only carry the code). */
function itemsOf(order) {
  return new Map(order.needs.map((need) => [need.item_code, { name: need.item_name, unit: need.unit }]));
}

/** Show a message next to a form field the same way the API's own messages are shown. */
function fieldError(form, field, message) {
  showFormErrors(form, { fields: { [field]: [message] }, problem: {} });
}

// ================================================================================================
// Responders: raise, follow, cancel, list their own
// ================================================================================================

const mine = {
  ctx: null,
  hooks: {},
  wired: false,
  order: null,
  list: [],
  pagination: null,
  page: 1,
  raiseBody: null,
  // The latest request for an order (opened or asked again): an answer to any other is not shown (a refetch in the
  // old language arriving after another order was opened, or after the language switched back).
  asked: null,
};

/**
 * hooks.onRaised(order): the plan has been used; hooks.showSources(order, fit): draw the order's
 * source warehouses on the map (fit: move the map to them).
 */
export function initResponder(context, hooks = {}) {
  mine.ctx = context;
  mine.hooks = hooks;
  Object.assign(mine, { order: null, list: [], pagination: null, page: 1, raiseBody: null });
  if (!mine.wired) {
    wireResponder();
    mine.wired = true;
  }
  byId("mine-section").hidden = !canRaise(context.user);
  clear(byId("mine-list"));
  closeRaise();
  closeOrder();
}

/** Each time the map view shows: the list (and the open order) as they are now. */
export async function showResponder() {
  if (!canRaise(mine.ctx?.user)) return;
  await loadMine(mine.page);
  if (mine.order) await refreshOrder(false);
}

/** Back on this tab: the open call-up as it is now (its lines dispatched or declined meanwhile). */
export function refreshShownOrder() {
  if (canRaise(mine.ctx?.user) && mine.order) quietly(() => refreshOrder(false));
}

export function resetResponder() {
  Object.assign(mine, { order: null, list: [], pagination: null, page: 1, raiseBody: null });
  clear(byId("mine-list"));
  closeRaise();
  closeOrder();
}

function wireResponder() {
  byId("callup-form").addEventListener("submit", submitRaise);
  byId("callup-raise-close").addEventListener("click", () => {
    closeRaise();
    byId("callup").focus();
  });
  byId("callup-refresh").addEventListener("click", () => refreshOrder(true));
  byId("callup-cancel-open").addEventListener("click", openCancel);
  byId("callup-cancel-close").addEventListener("click", () => {
    byId("callup-cancel-form").hidden = true;
    byId("callup-cancel-open").focus();
  });
  byId("callup-cancel-form").addEventListener("submit", submitCancel);
  byId("mine-refresh").addEventListener("click", () => loadMine(mine.page));
  // A new notification may be a line of my call-up dispatched or declined: show the order as it is now.
  onInboxNews(() => {
    if (!canRaise(mine.ctx?.user)) return;
    quietly(() => (mine.order ? refreshOrder(false) : loadMine(mine.page)));
  });
  onLanguageChange(() => {
    if (!mine.ctx?.user) return;
    if (mine.order) {
      renderOrder();
      // Its reasons and notes the server wrote come in the language they were asked in: ask again.
      quietly(() => refreshOrder(false));
    }
    renderMine();
  });
}

// --- raising -------------------------------------------------------------------------------------

/** Ask for the incident name and a note, then post `body` (the plan's own request) as a call-up. */
export function openRaise(body) {
  if (!body) return;
  mine.raiseBody = body;
  const form = byId("callup-form");
  clearFormErrors(form);
  byId("callup-raise").hidden = false;
  byId("callup").setAttribute("aria-expanded", "true");
  control(form, "incident_name").focus();
}

export function closeRaise() {
  mine.raiseBody = null;
  byId("callup-raise").hidden = true;
  byId("callup").setAttribute("aria-expanded", "false");
}

async function submitRaise(event) {
  event.preventDefault();
  const form = event.currentTarget;
  if (!mine.raiseBody) return;
  const body = { ...mine.raiseBody };
  // A blank name is left out, so the API's own "required" message appears next to the field.
  for (const name of ["incident_name", "note"]) {
    const value = control(form, name).value.trim();
    if (value) body[name] = value;
  }
  await runAction({ buttons: byId("callup-submit"), onProblem: (error) => showFormErrors(form, error) }, async () => {
    const order = await post("/callups", body);
    clearFormErrors(form);
    form.reset();
    closeRaise();
    mine.hooks.onRaised?.(order);
    announce(
      t("callup.raised", { code: order.code, status: statusLabel(order.status), count: order.lines.length }),
      "ok",
    );
    await showOrder(order, true);
    await loadMine(1);
  });
}

// --- one order -----------------------------------------------------------------------------------

async function showOrder(order, moveFocus) {
  mine.order = order;
  mine.asked = null; // an answer still on its way for the order shown before is not this one's
  byId("callup-cancel-form").hidden = true;
  byId("callup-detail").hidden = false;
  renderOrder();
  if (moveFocus) byId("callup-title").focus();
  await mine.hooks.showSources?.(order, true);
}

function closeOrder() {
  mine.order = null;
  mine.asked = null;
  byId("callup-detail").hidden = true;
  byId("callup-cancel-form").hidden = true;
  clear(byId("callup-body"));
}

async function openOrder(code) {
  const asked = {};
  mine.asked = asked;
  const order = await get(`/callups/${encodeURIComponent(code)}`);
  if (mine.asked !== asked) return; // another order opened, or this one asked again, meanwhile
  await showOrder(order, true);
}

async function refreshOrder(spoken) {
  const before = mine.order;
  if (!before) return;
  const asked = {};
  mine.asked = asked;
  await whileBusy({ buttons: byId("callup-refresh") }, async () => {
    const order = await get(`/callups/${encodeURIComponent(before.code)}`);
    if (mine.asked !== asked) return; // another order opened, or asked again (a language switch back), meanwhile
    mine.order = order;
    renderOrder();
    await mine.hooks.showSources?.(order, false);
    const changed = order.status !== before.status || order.events.length !== before.events.length;
    if (changed || spoken) {
      const added = order.events.length - before.events.length;
      announce(
        t(changed ? "callup.changed" : "callup.unchanged", {
          code: order.code,
          status: statusLabel(order.status),
          count: added,
        }),
        changed ? "ok" : "info",
      );
    }
    // The list shows each order's status too.
    if (changed) await loadMine(mine.page);
  });
}

/** A call-up event's name (raised, dispatched, declined, replanned, cancelled) in the page's language: the one home
 * of these labels, for the call-up's history here and an incident's timeline (incidents.js). */
export function eventLabel(event) {
  return t(`callup.event.${event}`);
}

/** Plan outcomes as the page says them: the API answers them in the reader's language, and only its English
 * shortfalls ("PD-001 short by 20") are rewritten here, with the page's numbers. */
export function eventNote(entry) {
  const note = entry.note || "";
  if (entry.event !== "raised" && entry.event !== "replanned") return note;
  const parts = note.split("; ").map((part) => part.match(/^(\S+) short by ([\d.]+)$/));
  if (!note || parts.some((match) => !match)) return note;
  return parts
    .map(([, item, quantity]) => t("callup.short_by", { item, quantity: formatQuantity(Number(quantity)) }))
    .join(" · ");
}

function mayCancel(order) {
  const user = mine.ctx.user;
  return order.status === "open" && (order.requester === user.username || user.role === "admin");
}

function renderOrder() {
  const order = mine.order;
  const items = itemsOf(order);
  byId("callup-title").textContent = t("callup.title", { code: order.code });
  byId("callup-state").replaceChildren(
    labelled(t("callup.state")),
    el("span", { class: STATUS_BADGE[order.status] || "badge", text: statusLabel(order.status) }),
    order.status === "open"
      ? ` ${t("callup.awaiting", { count: order.lines.filter((line) => line.status === "reserved").length })}`
      : "",
  );
  byId("callup-state").dataset.status = order.status;
  const meta = [
    labelled(t("callup.incident"), order.incident_name),
    labelled(t("callup.requester"), order.requester),
    labelled(t("callup.raised_at"), formatDateTime(order.created_at)),
    t("callup.where", {
      lat: order.latitude.toFixed(4),
      lon: order.longitude.toFixed(4),
      km: formatQuantity(order.radius_km),
    }),
    order.note ? labelled(t("callup.note_short"), order.note) : "",
  ];
  byId("callup-meta").textContent = meta.filter(Boolean).join(" · ");
  byId("callup-cancel-open").hidden = !mayCancel(order);
  if (!mayCancel(order)) byId("callup-cancel-form").hidden = true;

  // Needs: requested against what the lines hold (reserved or dispatched), and the shortfall.
  const needRows = order.needs.map((need) => {
    const lines = order.lines.filter((line) => line.item_code === need.item_code);
    const held = lines.filter((line) => HELD.has(line.status)).reduce((sum, line) => sum + line.quantity, 0);
    const sent = lines.filter((line) => line.status === "dispatched").reduce((sum, line) => sum + line.quantity, 0);
    const shortfall = Math.max(0, Math.round((need.requested - held) * 1000) / 1000);
    return el(
      "tr",
      { class: shortfall > 0 ? "short" : null, dataset: { item: need.item_code } },
      el("td", { text: `${need.item_name} (${need.item_code})` }),
      el("td", { class: "number", text: `${formatQuantity(need.requested)} ${need.unit}` }),
      el("td", { class: "number", text: formatQuantity(held) }),
      el("td", { class: "number", text: formatQuantity(sent) }),
      el("td", { class: "number", text: formatQuantity(shortfall) }),
    );
  });

  const lineRows = order.lines.map((line) => {
    const item = items.get(line.item_code) || { name: line.item_code, unit: "" };
    const decided = line.decided_by ? `${line.decided_by} · ${formatDateTime(line.decided_at)}` : "";
    return el(
      "tr",
      { class: `line-${line.status}`, dataset: { lineId: String(line.id), status: line.status } },
      twoLines(line.warehouse_name, line.warehouse_code),
      el("td", { class: "number", text: t("map.km", { km: formatQuantity(line.distance_km) }) }),
      el("td", { text: item.name }),
      twoLines(line.batch || "—", line.expiry_date),
      el("td", { class: "number", text: `${formatQuantity(line.quantity)} ${item.unit}` }),
      el(
        "td",
        {},
        el("span", { class: "name", text: line.contact_person || "" }),
        line.contact_phone ? telLink(line.contact_phone) : null,
      ),
      el(
        "td",
        {},
        el("span", { class: LINE_BADGE[line.status] || "badge", text: lineStatusLabel(line.status) }),
        decided ? el("span", { class: "code", text: decided }) : null,
        line.reason ? el("span", { class: "line-reason", text: line.reason }) : null,
      ),
    );
  });

  const lineById = new Map(order.lines.map((line) => [line.id, line]));
  const eventRows = order.events.map((entry) => {
    const line = lineById.get(entry.line_id);
    const item = line ? items.get(line.item_code) : null;
    const about = line ? [line.warehouse_name, item?.name || line.item_code, line.batch || "—"].join(" · ") : "";
    return el(
      "tr",
      { dataset: { event: entry.event } },
      el("td", { text: formatDateTime(entry.occurred_at) }),
      el("td", { text: eventLabel(entry.event) }),
      el("td", { text: entry.actor }),
      el("td", { text: about }),
      el("td", { text: eventNote(entry) }),
    );
  });

  byId("callup-body").replaceChildren(
    el("h4", { text: t("callup.needs") }),
    table(
      `${t("callup.needs")} · ${order.code}`,
      ["item", "requested", "held", "dispatched", "shortfall"].map((key) => t(`callup.col.${key}`)),
      needRows,
      "callup-needs",
    ),
    el("h4", { text: t("callup.lines") }),
    lineRows.length
      ? table(
          `${t("callup.lines")} · ${order.code}`,
          ["source", "distance", "item", "batch", "quantity", "contact", "status"].map((key) => t(`callup.col.${key}`)),
          lineRows,
          "callup-lines",
        )
      : el("p", { class: "hint", text: t("callup.no_lines") }),
    el("h4", { text: t("callup.events") }),
    table(
      `${t("callup.events")} · ${order.code}`,
      ["time", "event", "actor", "line", "note"].map((key) => t(`callup.col.${key}`)),
      eventRows,
      "callup-events",
    ),
  );
}

// --- cancelling ----------------------------------------------------------------------------------

function openCancel() {
  const form = byId("callup-cancel-form");
  form.reset();
  clearFormErrors(form);
  form.hidden = false;
  control(form, "reason").focus();
}

async function submitCancel(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const order = mine.order;
  const reason = control(form, "reason").value.trim();
  if (!reason) {
    fieldError(form, "reason", t("callup.reason_required"));
    return;
  }
  const submit = form.querySelector("button[type=submit]");
  const onProblem = async (error) => {
    showFormErrors(form, error);
    if (error.status !== 409) return;
    // Decided or cancelled elsewhere meanwhile: show the order as it is now (no longer open, it
    // cannot be cancelled: the form goes, the status line keeps the reason).
    await refreshOrder(false);
    if (!mayCancel(mine.order)) form.hidden = true;
  };
  await runAction({ buttons: submit, onProblem }, async () => {
    const cancelled = await post(`/callups/${encodeURIComponent(order.code)}/cancel`, { reason });
    clearFormErrors(form);
    form.hidden = true;
    mine.order = cancelled;
    renderOrder();
    await mine.hooks.showSources?.(cancelled, false);
    announce(t("callup.cancelled", { code: cancelled.code }), "ok");
    byId("callup-title").focus();
    await loadMine(mine.page);
  });
}

// --- my call-ups ---------------------------------------------------------------------------------

async function loadMine(page) {
  await whileBusy({ region: byId("mine-list") }, async () => {
    const answer = await request("/callups", {
      query: { requester: mine.ctx.user.username, page, page_size: MINE_PAGE_SIZE },
    });
    mine.list = answer.data;
    mine.pagination = answer.pagination;
    mine.page = page;
  });
  renderMine();
}

function lineCounts(order) {
  const counts = {};
  for (const line of order.lines) counts[line.status] = (counts[line.status] || 0) + 1;
  return ["reserved", "dispatched", "declined", "cancelled"]
    .filter((status) => counts[status])
    .map((status) => `${lineStatusLabel(status)} ${counts[status]}`)
    .join(" · ");
}

function renderMine() {
  const list = byId("mine-list");
  if (!mine.ctx?.user || !canRaise(mine.ctx.user)) return;
  if (!mine.list.length) {
    list.replaceChildren(el("p", { class: "hint", text: t("callup.none_mine") }));
    return;
  }
  const rows = mine.list.map((order) =>
    el(
      "tr",
      {
        dataset: { code: order.code, status: order.status },
        "aria-current": mine.order?.code === order.code ? "true" : null,
      },
      el(
        "td",
        {},
        el("button", {
          type: "button",
          class: "link",
          text: order.code,
          "aria-label": t("callup.open", { code: order.code }),
          on: { click: () => openOrder(order.code) },
        }),
      ),
      el("td", { text: order.incident_name }),
      el("td", {}, el("span", { class: STATUS_BADGE[order.status] || "badge", text: statusLabel(order.status) })),
      el("td", { text: formatDateTime(order.created_at) }),
      el("td", { text: lineCounts(order) || "—" }),
    ),
  );
  list.replaceChildren(
    table(
      t("callup.mine"),
      ["code", "incident", "status", "raised", "lines"].map((key) => t(`callup.col.${key}`)),
      rows,
      "callup-list",
    ),
    pager(mine.pagination, (page) => loadMine(page)),
  );
}

// ================================================================================================
// Managers: the lines waiting for their warehouses
// ================================================================================================

const queue = {
  ctx: null,
  hooks: {},
  wired: false,
  codes: [],
  heading: null,
  rows: [],
  page: 1,
  truncated: false,
  active: null,
};

/** hooks.onDecided(line, kind): a line was dispatched or declined (stock.js shows the ledger). */
export function initQueue(context, hooks = {}) {
  queue.ctx = context;
  queue.hooks = hooks;
  resetQueue();
  if (!queue.wired) {
    wireQueue();
    queue.wired = true;
  }
}

export function resetQueue() {
  Object.assign(queue, { codes: [], heading: null, rows: [], page: 1, truncated: false, active: null });
  byId("queue-panel").hidden = true;
  byId("decision-panel").hidden = true;
  clear(byId("queue-list"));
  byId("queue-summary").textContent = "";
}

function wireQueue() {
  byId("queue-refresh").addEventListener("click", () => reloadQueue(true));
  // A new notification may be a line waiting here: the list must not keep saying there is none.
  onInboxNews(() => quietly(reloadQueueInPlace));
  byId("decision-form").addEventListener("submit", submitDecision);
  byId("decision-close").addEventListener("click", () => {
    const active = queue.active;
    closeDecision();
    focusRowButton(active?.line.id, active?.kind) || byId("queue-heading").focus();
  });
  onLanguageChange(() => {
    if (!queue.ctx?.user || byId("queue-panel").hidden) return;
    renderQueueHeading();
    renderQueue();
    if (queue.active) renderDecision();
  });
}

/**
 * Show the reserved lines of these warehouse codes. `heading` is {key, values} for the panel's
 * title; no codes hides the panel.
 */
export async function loadQueue(codes, heading) {
  queue.codes = codes;
  queue.heading = heading;
  if (!codes.length) {
    resetQueue();
    return;
  }
  byId("queue-panel").hidden = false;
  renderQueueHeading();
  await reloadQueue(false);
}

async function fetchOpenFor(code) {
  const orders = [];
  let truncated = false;
  for (let page = 1; page <= QUEUE_FETCH_PAGES; page += 1) {
    const answer = await request("/callups", {
      query: { status: "open", warehouse: code, page, page_size: QUEUE_FETCH_SIZE },
    });
    orders.push(...answer.data);
    if (!answer.pagination?.next_page) return { orders, truncated };
    truncated = page === QUEUE_FETCH_PAGES;
  }
  return { orders, truncated };
}

async function reloadQueue(spoken) {
  if (!queue.codes.length) return;
  await whileBusy({ region: byId("queue-list") }, async () => {
    const answers = await Promise.all(queue.codes.map((code) => fetchOpenFor(code)));
    const codes = new Set(queue.codes);
    const seen = new Set();
    const rows = [];
    for (const order of answers.flatMap((answer) => answer.orders)) {
      if (seen.has(order.code)) continue;
      seen.add(order.code);
      const items = itemsOf(order);
      for (const line of order.lines) {
        if (line.status !== "reserved" || !codes.has(line.warehouse_code)) continue;
        rows.push({ order, line, item: items.get(line.item_code) || { name: line.item_code, unit: "" } });
      }
    }
    // The longest waiting first.
    rows.sort((a, b) => a.order.created_at.localeCompare(b.order.created_at) || a.line.id - b.line.id);
    queue.rows = rows;
    queue.truncated = answers.some((answer) => answer.truncated);
    const pages = Math.max(1, Math.ceil(rows.length / QUEUE_PAGE_SIZE));
    queue.page = Math.min(queue.page, pages);
  });
  renderQueue();
  if (spoken) announce(t("queue.summary", { count: queue.rows.length }));
}

/** Reload the queue, keeping the keyboard on the row button it was on. */
async function reloadQueueInPlace() {
  if (!queue.ctx?.user || !queue.codes.length) return;
  const focused = document.activeElement?.closest("#queue-list tr[data-line-id]");
  const action = document.activeElement?.dataset.action;
  await reloadQueue(false);
  if (focused) focusRowButton(focused.dataset.lineId, action);
}

function renderQueueHeading() {
  const heading = queue.heading || { key: "queue.heading_mine", values: {} };
  byId("queue-heading").textContent = t(heading.key, heading.values);
}

function renderQueue() {
  const list = byId("queue-list");
  const rows = queue.rows;
  byId("queue-summary").textContent = rows.length
    ? t("queue.summary", { count: rows.length }) + (queue.truncated ? ` ${t("queue.truncated")}` : "")
    : "";
  if (!rows.length) {
    list.replaceChildren(el("p", { class: "hint", text: t("queue.empty") }));
    return;
  }
  const pages = Math.ceil(rows.length / QUEUE_PAGE_SIZE);
  const start = (queue.page - 1) * QUEUE_PAGE_SIZE;
  const shown = rows.slice(start, start + QUEUE_PAGE_SIZE).map((row) => {
    const { order, line, item } = row;
    const name = `${order.code} · ${item.name} · ${line.batch || "—"}`;
    return el(
      "tr",
      { dataset: { callup: order.code, lineId: String(line.id), stockLineId: String(line.stock_line_id) } },
      twoLines(order.code, formatDateTime(order.created_at)),
      el("td", { text: order.incident_name }),
      twoLines(item.name, line.item_code),
      el("td", { text: line.batch || "—" }),
      el("td", { class: "number", text: `${formatQuantity(line.quantity)} ${item.unit}` }),
      twoLines(line.warehouse_name, line.warehouse_code),
      el("td", { text: order.requester }),
      el(
        "td",
        { class: "row-actions" },
        el("button", {
          type: "button",
          text: t("queue.dispatch"),
          "aria-label": `${t("queue.dispatch")}: ${name}`,
          dataset: { action: "dispatch" },
          on: { click: () => openDecision(row, "dispatch") },
        }),
        el("button", {
          type: "button",
          class: "secondary",
          text: t("queue.decline"),
          "aria-label": `${t("queue.decline")}: ${name}`,
          dataset: { action: "decline" },
          on: { click: () => openDecision(row, "decline") },
        }),
      ),
    );
  });
  const pagination = {
    page: queue.page,
    total_pages: pages,
    total: rows.length,
    previous_page: queue.page > 1 ? queue.page - 1 : null,
    next_page: queue.page < pages ? queue.page + 1 : null,
  };
  list.replaceChildren(
    table(
      byId("queue-heading").textContent,
      ["code", "incident", "item", "batch", "quantity", "warehouse", "requester", "actions"].map((key) =>
        t(`queue.col.${key}`),
      ),
      shown,
      "queue",
    ),
    pager(pagination, (page) => {
      queue.page = page;
      renderQueue();
    }),
  );
}

function focusRowButton(lineId, kind) {
  if (!lineId) return false;
  const button = byId("queue-list").querySelector(`tr[data-line-id="${lineId}"] button[data-action="${kind}"]`);
  button?.focus();
  return Boolean(button);
}

// --- dispatch and decline ------------------------------------------------------------------------

function openDecision(row, kind) {
  queue.active = { ...row, kind };
  const form = byId("decision-form");
  form.reset();
  clearFormErrors(form);
  renderDecision();
  byId("decision-panel").hidden = false;
  control(form, kind === "dispatch" ? "note" : "reason").focus();
}

function renderDecision() {
  const { order, line, item, kind } = queue.active;
  const form = byId("decision-form");
  byId("decision-heading").textContent = t(`queue.${kind}_heading`, {
    code: order.code,
    item: item.name,
    batch: line.batch || "—",
  });
  byId("decision-meta").textContent = t("queue.meta", {
    quantity: formatQuantity(line.quantity),
    unit: item.unit,
    warehouse: line.warehouse_name,
    requester: order.requester,
    incident: order.incident_name,
  });
  for (const field of form.querySelectorAll("[data-decision]")) field.hidden = field.dataset.decision !== kind;
  byId("decision-submit").textContent = t(`queue.${kind}_submit`);
  for (const name of ["note", "reason"]) {
    const input = control(form, name);
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id.endsWith("-error"));
    input.setAttribute("aria-describedby", ["decision-heading", "decision-meta", ...described].join(" "));
  }
}

function closeDecision() {
  queue.active = null;
  byId("decision-panel").hidden = true;
}

async function submitDecision(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const active = queue.active;
  if (!active) return;
  const { order, line, item, kind } = active;
  const body = {};
  const field = kind === "dispatch" ? "note" : "reason";
  // A blank reason is left out: the API says it is required, next to the field.
  const value = control(form, field).value.trim();
  if (value) body[field] = value;
  const onProblem = async (error) => {
    showFormErrors(form, error);
    if (error.status === 409) await reloadQueue(false); // decided elsewhere meanwhile
  };
  await runAction({ buttons: byId("decision-submit"), onProblem }, async () => {
    await post(`/callup-lines/${line.id}/${kind}`, body);
    clearFormErrors(form);
    closeDecision();
    announce(
      t(kind === "dispatch" ? "queue.dispatched" : "queue.declined", {
        code: order.code,
        item: item.name,
        quantity: formatQuantity(line.quantity),
        unit: item.unit,
      }),
      "ok",
    );
    await reloadQueue(false);
    byId("queue-heading").focus();
    await queue.hooks.onDecided?.(line, kind, order);
  });
}
