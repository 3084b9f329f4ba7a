// Warehouses and their stock: lines with batches and expiry, receipts, issues, transfers,
// stocktakes and adjustments with the API's own validation messages, and each line's ledger.
// Above them, the call-up lines waiting for the warehouses this user decides for (callups.js)
// and the batches expired or expiring soon in the user's scope (readiness.js).

import { get, post, request } from "./api.js";
import { initQueue, loadQueue, resetQueue } from "./callups.js";
import { reservedCell } from "./holdings.js";
import { announce, clear, clearFormErrors, control, debounce, el, expiryState, formatDateTime, formatQuantity, formatSigned, isoDay, pager, quietly, runAction, showFormErrors, table, whileBusy } from "./dom.js";
import { label, labelled, onLanguageChange, referenceLabel, t } from "./i18n.js";
import { initExpiring, loadExpiring, reloadExpiring, resetExpiring } from "./readiness.js";
import { checkItem, suggestItems } from "./suggest.js";
import { onInboxNews } from "./inbox.js";

const WAREHOUSE_PAGE_SIZE = 20;
const LINE_PAGE_SIZE = 50;
const HISTORY_PAGE_SIZE = 20;
const MOVEMENT_PATHS = { issue: "issues", transfer: "transfers", stocktake: "stocktakes", adjustment: "adjustments" };

let ctx = null;
let wired = false;
let shownBefore = false; // init has just loaded the expiring list: the first show need not again
const state = {};

function byId(id) {
  return document.getElementById(id);
}

function resetState() {
  Object.assign(state, {
    warehouses: [],
    warehousePagination: null,
    warehouse: null,
    lines: [],
    linePagination: null,
    linePage: 1,
    line: null,
    history: null,
    historyPagination: null,
    historyLine: null,
    // The latest request for a ledger history: an answer to any other is not shown (another line's, or a refetch
    // in the old language arriving after the language switched back, or after the panel was closed).
    historyAsked: null,
  });
}

export async function init(context) {
  ctx = context;
  resetState();
  if (!wired) {
    wire();
    wired = true;
  }
  const manager = ctx.user.role === "manager";
  byId("warehouse-search").hidden = manager;
  byId("warehouses-heading").dataset.i18n = manager ? "stock.my_warehouses" : "stock.warehouses";
  byId("warehouses-heading").textContent = t(byId("warehouses-heading").dataset.i18n);
  initQueue(ctx, { onDecided: showDecided });
  initExpiring(ctx);
  fillCategories();
  closeWarehouse();
  shownBefore = false;
  await Promise.all([loadWarehouses(1), loadExpiring(1)]);
}

/**
 * Each time the view shows: the call-ups waiting now; on a return, what has expired or soon will and
 * the open warehouse's stock (changed meanwhile by another view, user or tab).
 */
export async function show() {
  const again = shownBefore;
  shownBefore = true;
  await Promise.all([refreshQueue(), again ? loadExpiring(1) : null, again ? reloadOpenLines() : null]);
}

/** Back on this tab with the session still this user's (app.js asks that first): while this view is the one shown,
 * the open warehouse's stock and ledger history, the expiring list and the call-ups waiting as they are now. A phone left on the
 * table overnight showed last night's quantities until another view was opened and this one again. */
export function shownAgain() {
  if (byId("view-stock").hidden) return; // show() reads them again when the view is opened
  quietly(() => Promise.all([refreshQueue(), loadExpiring(1), reloadOpenLines(), reloadHistory()]));
}

async function reloadOpenLines() {
  if (state.warehouse) await reloadLines(state.line?.id);
}

export function reset() {
  resetState();
  resetQueue();
  resetExpiring();
  clear(byId("warehouse-list"));
  byId("warehouse-q").value = "";
  closeWarehouse();
}

function wire() {
  byId("warehouse-search").addEventListener("submit", (event) => {
    event.preventDefault();
    loadWarehouses(1);
  });
  byId("lines-expiring").addEventListener("change", () => loadLines(1));
  byId("lines-category").addEventListener("change", () => loadLines(1));
  byId("receipt-open").addEventListener("click", openReceipt);
  byId("receipt-form").addEventListener("submit", submitReceipt);
  byId("move-form").addEventListener("submit", submitMovement);
  byId("move-form").addEventListener("change", (event) => {
    if (event.target.name === "kind") showKindFields();
  });
  for (const button of document.querySelectorAll("#view-stock [data-close]")) {
    button.addEventListener("click", () => {
      if (button.dataset.close === "history-panel") closeHistory();
      byId(button.dataset.close).hidden = true;
      byId("stock-lines").querySelector("button")?.focus();
    });
  }
  byId("receipt-item").addEventListener("input", debounce(suggestReceiptItems));
  byId("move-to").addEventListener("input", debounce(suggestWarehouses));
  // A call-up raised (or cancelled) elsewhere on this warehouse's stock: the queue above shows the new line, and
  // the lines table must not go on saying the stock it reserved is free (show() reloads it on a return).
  onInboxNews(() => {
    if (!byId("view-stock").hidden) quietly(reloadOpenLines);
  });
  onLanguageChange(() => {
    if (!ctx?.user) return;
    fillCategories();
    renderWarehouses();
    if (state.warehouse) {
      renderWarehouseHeader();
      renderLines();
    }
    if (state.line && !byId("move-panel").hidden) renderMoveHeader();
    if (state.history) {
      renderHistory();
      // The reasons the server wrote come in the language they were asked in: ask again, on the same page.
      quietly(reloadHistory);
    }
  });
}

function fillCategories() {
  const select = byId("lines-category");
  const chosen = select.value;
  select.replaceChildren(
    el("option", { value: "", text: t("common.any") }),
    ...ctx.reference.categories.map((entry) => el("option", { value: entry.code, text: label(entry) })),
  );
  select.value = chosen;
}

/** Whether the logged-in user may change this warehouse's stock (the API checks it again). */
function canChange(warehouse) {
  const user = ctx.user;
  if (user.role === "admin") return true;
  if (user.role === "provincial") return warehouse.province_code === user.province_code;
  if (user.role === "manager") return user.warehouse_ids.includes(warehouse.id);
  return false;
}

// --- warehouses ------------------------------------------------------------------------------

async function loadWarehouses(page) {
  await whileBusy({ region: byId("warehouse-list") }, async () => {
    if (ctx.user.role === "manager") {
      state.warehouses = await get("/page/my-warehouses");
      state.warehousePagination = null;
    } else {
      const query = { q: byId("warehouse-q").value.trim(), page, page_size: WAREHOUSE_PAGE_SIZE };
      if (ctx.user.role === "provincial") query.region = ctx.user.province_code;
      const answer = await request("/warehouses", { query });
      state.warehouses = answer.data;
      state.warehousePagination = answer.pagination;
    }
  });
  renderWarehouses();
  if (ctx.user.role === "manager" && state.warehouses.length === 1 && !state.warehouse) {
    await openWarehouse(state.warehouses[0], false);
  }
}

function renderWarehouses() {
  const list = byId("warehouse-list");
  if (!state.warehouses.length) {
    const key = ctx.user.role === "manager" ? "stock.no_assigned" : "stock.no_warehouses";
    list.replaceChildren(el("p", { class: "hint", text: t(key) }));
    return;
  }
  const items = state.warehouses.map((warehouse) =>
    el(
      "li",
      {},
      el(
        "button",
        {
          type: "button",
          class: "warehouse-button",
          "aria-current": state.warehouse?.code === warehouse.code ? "true" : null,
          dataset: { code: warehouse.code },
          on: { click: () => openWarehouse(warehouse, true) },
        },
        el("span", { class: "name", text: warehouse.name }),
        el("span", { class: "meta", text: `${warehouse.code} · ${warehouse.county_name || warehouse.county_code}` }),
      ),
    ),
  );
  list.replaceChildren(
    el("ul", { class: "warehouse-list" }, items),
    pager(state.warehousePagination, (page) => loadWarehouses(page)),
  );
}

async function openWarehouse(warehouse, moveFocus) {
  state.warehouse = warehouse;
  state.line = null;
  closeHistory();
  for (const id of ["receipt-panel", "move-panel", "history-panel"]) byId(id).hidden = true;
  byId("stock-placeholder").hidden = true;
  byId("warehouse-detail").hidden = false;
  renderWarehouses();
  renderWarehouseHeader();
  if (moveFocus) byId("warehouse-title").focus();
  await Promise.all([loadLines(1), ctx.user.role === "manager" ? null : refreshQueue()]);
}

function closeWarehouse() {
  state.warehouse = null;
  byId("warehouse-detail").hidden = true;
  byId("stock-placeholder").hidden = false;
}

function renderWarehouseHeader() {
  const warehouse = state.warehouse;
  byId("warehouse-title").textContent = `${warehouse.name} (${warehouse.code})`;
  const parts = [
    referenceLabel(ctx.labels, "reserve_types", warehouse.reserve_type),
    warehouse.county_name,
    warehouse.address && labelled(t("stock.address"), warehouse.address),
    warehouse.contact_person &&
      labelled(t("stock.contact"), `${warehouse.contact_person} ${warehouse.contact_phone || ""}`),
  ];
  byId("warehouse-meta").textContent = parts.filter(Boolean).join(" · ");
  const writable = canChange(warehouse);
  byId("warehouse-readonly").hidden = writable;
  byId("receipt-open").hidden = !writable;
}

// --- stock lines -----------------------------------------------------------------------------

async function loadLines(page) {
  if (!state.warehouse) return;
  state.linePage = page;
  const query = {
    warehouse: state.warehouse.code,
    page,
    page_size: LINE_PAGE_SIZE,
    category: byId("lines-category").value,
    // "expiry strictly before" tomorrow + 30 days: expired lines and those expiring within 30 days
    expiring_before: byId("lines-expiring").checked ? isoDay(31) : "",
  };
  await whileBusy({ region: byId("stock-lines") }, async () => {
    const answer = await request("/stock-lines", { query });
    state.lines = answer.data;
    state.linePagination = answer.pagination;
  });
  renderLines();
}

function renderLines() {
  const container = byId("stock-lines");
  if (!state.lines.length) {
    container.replaceChildren(el("p", { class: "hint", text: t("stock.no_lines") }));
    return;
  }
  const writable = canChange(state.warehouse);
  const rows = state.lines.map((line) => {
    const expiry = expiryState(line.expiry_date);
    const name = `${line.item_name} ${line.batch || ""}`.trim();
    return el(
      "tr",
      { class: expiry || null, dataset: { lineId: String(line.id) } },
      el("td", {}, el("span", { class: "name", text: line.item_name }), el("span", { class: "code", text: line.item_code })),
      el("td", { text: line.batch || "—" }),
      el(
        "td",
        { class: "number" },
        `${formatQuantity(line.quantity)} ${line.unit}`,
        // Shipped from this batch and not yet received: out of on hand, shown so it does not seem lost.
        Number(line.in_transit_quantity) > 0
          ? el("span", {
              class: "badge in-transit",
              text: t("stock.in_transit", { quantity: formatQuantity(line.in_transit_quantity) }),
            })
          : null,
      ),
      reservedCell(line),
      el("td", { class: "number available", text: formatQuantity(line.available) }),
      el("td", { text: line.production_date || "" }),
      el(
        "td",
        {},
        line.expiry_date || "",
        expiry ? el("span", { class: `badge ${expiry}`, text: t(`stock.${expiry}`) }) : null,
      ),
      el(
        "td",
        { class: "row-actions" },
        writable
          ? el("button", {
              type: "button",
              text: t("stock.move"),
              "aria-label": `${t("stock.move")}: ${name}`,
              dataset: { action: "move" },
              on: { click: () => openMovement(line) },
            })
          : null,
        el("button", {
          type: "button",
          class: "secondary",
          text: t("stock.history"),
          "aria-label": `${t("stock.history")}: ${name}`,
          dataset: { action: "history" },
          on: { click: () => openHistory(line, true) },
        }),
      ),
    );
  });
  const headers = ["item", "batch", "quantity", "reserved", "available", "production", "expiry", "actions"].map((key) =>
    t(`stock.col.${key}`),
  );
  container.replaceChildren(
    table(`${t("stock.lines")} · ${state.warehouse.name}`, headers, rows, "lines"),
    pager(state.linePagination, (page) => loadLines(page)),
  );
}

// --- movements -------------------------------------------------------------------------------

function openMovement(line) {
  state.line = line;
  byId("receipt-panel").hidden = true;
  const form = byId("move-form");
  form.reset();
  clearFormErrors(form);
  showKindFields();
  renderMoveHeader();
  byId("move-panel").hidden = false;
  byId("move-heading").focus();
}

function renderMoveHeader() {
  const line = state.line;
  byId("move-heading").textContent = t("move.heading", { item: line.item_name, batch: line.batch || "—" });
  byId("move-on-hand").textContent = t("move.on_hand_available", {
    quantity: formatQuantity(line.quantity),
    reserved: formatQuantity(line.reserved ?? 0),
    available: formatQuantity(line.available ?? line.quantity),
    unit: line.unit,
  });
}

function showKindFields() {
  const form = byId("move-form");
  const kind = control(form, "kind").value;
  for (const field of form.querySelectorAll("[data-kinds]")) {
    field.hidden = !field.dataset.kinds.split(" ").includes(kind);
  }
  const reason = control(form, "reason");
  reason.required = kind === "adjustment";
}

function movementBody(form) {
  const kind = control(form, "kind").value;
  const value = (name) => control(form, name).value.trim();
  const body = {};
  const fields = {
    issue: ["quantity"],
    transfer: ["to_warehouse_code", "quantity"],
    stocktake: ["counted_quantity"],
    adjustment: ["delta"],
  }[kind];
  for (const name of fields) body[name] = value(name);
  if (value("reason") || kind === "adjustment") body.reason = value("reason");
  if (value("reference")) body.reference = value("reference");
  return { kind, body };
}

async function submitMovement(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const line = state.line;
  const { kind, body } = movementBody(form);
  // Blank numbers are left out so the API says "required" next to the field.
  for (const name of ["quantity", "counted_quantity", "delta", "to_warehouse_code"]) {
    if (body[name] === "") delete body[name];
  }
  // "Insufficient stock" names `quantity` whatever the movement: point it at the field this form shows.
  const shown = { adjustment: "delta", stocktake: "counted_quantity" }[kind];
  const onProblem = async (error) => {
    showFormErrors(form, error, shown ? { quantity: shown } : {});
    // A conflict means the line changed elsewhere (another user or tab): show what is true now, so
    // the table and the header above the form do not contradict the message under the field.
    if (error.status === 409) await reloadLine(line.id);
  };
  await runAction({ buttons: form.querySelector("button[type=submit]"), onProblem }, async () => {
    const result = await post(`/stock-lines/${line.id}/${MOVEMENT_PATHS[kind]}`, body);
    const movement = result.out || result;
    clearFormErrors(form);
    form.reset();
    showKindFields();
    announce(
      t("move.done", {
        kind: referenceLabel(ctx.labels, "movement_kinds", movement.kind),
        delta: formatSigned(movement.delta),
        after: `${formatQuantity(movement.quantity_after)} ${line.unit}`,
      }),
      "ok",
    );
    await reloadLine(line.id);
    await openHistory(state.line, false);
  });
}

/** The lines table, the expiring list and the open movement form's line as the server has them now. */
async function reloadLine(id) {
  await Promise.all([reloadLines(id), reloadExpiring()]);
}

/** The lines table, and the movement form's header when line `id` is still the one open. */
async function reloadLines(id) {
  await loadLines(state.linePage);
  if (id === undefined || state.line?.id !== id) return; // none, closed or another line opened meanwhile
  const line = state.lines.find((one) => one.id === id) || (await get(`/stock-lines/${id}`));
  if (state.line?.id !== id) return;
  state.line = line;
  renderMoveHeader();
}

// --- receipts --------------------------------------------------------------------------------

function openReceipt() {
  byId("move-panel").hidden = true;
  const form = byId("receipt-form");
  form.reset();
  clearFormErrors(form);
  byId("receipt-heading").textContent = t("receipt.heading", { warehouse: state.warehouse.name });
  byId("receipt-panel").hidden = false;
  byId("receipt-heading").focus();
}

async function submitReceipt(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const body = { warehouse_code: state.warehouse.code };
  for (const name of ["item_code", "quantity", "batch", "production_date", "expiry_date", "reason", "reference"]) {
    const value = control(form, name).value.trim();
    if (value) body[name] = value;
  }
  const onProblem = (error) => showFormErrors(form, error);
  await runAction({ buttons: form.querySelector("button[type=submit]"), onProblem }, async () => {
    // The API takes the item code; the field takes a name or alias too (活性炭): the one item it names.
    const item = body.item_code ? (await checkItem(body.item_code)).item : null;
    if (item) body.item_code = item.code;
    const movement = await post("/receipts", body);
    clearFormErrors(form);
    form.reset();
    // Said by the item's name and unit, as the table below shows it ("PL-001 +3" named neither).
    const received = `${formatSigned(movement.delta)}${item ? ` ${item.unit}` : ""}`;
    announce(t("receipt.done", { item: item?.name || movement.item_code, quantity: received }), "ok");
    await Promise.all([loadLines(state.linePage), reloadExpiring()]); // a batch expiring soon joins that list
  });
}

function suggestReceiptItems() {
  return suggestItems(byId("receipt-item").value, byId("receipt-item-options"));
}

async function suggestWarehouses() {
  const text = byId("move-to").value.trim();
  if (text.length < 2) return;
  const warehouses = await get("/warehouses", { q: text, page_size: 10, status: "active" });
  byId("move-to-options").replaceChildren(
    ...warehouses.map((warehouse) => el("option", { value: warehouse.code, text: warehouse.name })),
  );
}

// --- history ---------------------------------------------------------------------------------

async function openHistory(line, moveFocus, page = null) {
  const asked = {};
  state.historyAsked = asked;
  let answer = await request(`/stock-lines/${line.id}/movements`, {
    query: { page: page || 1, page_size: HISTORY_PAGE_SIZE },
  });
  // The ledger is oldest first: open on its last page, where the newest entries are.
  if (state.historyAsked === asked && page === null && answer.pagination && answer.pagination.total_pages > 1) {
    answer = await request(`/stock-lines/${line.id}/movements`, {
      query: { page: answer.pagination.total_pages, page_size: HISTORY_PAGE_SIZE },
    });
  }
  if (state.historyAsked !== asked) return; // another line's asked, this one's asked again, or closed, meanwhile
  state.historyLine = line;
  state.history = answer.data;
  state.historyPagination = answer.pagination;
  renderHistory();
  byId("history-panel").hidden = false;
  if (moveFocus) byId("history-heading").focus();
}

/** The ledger panel closed: it stays closed on a language switch or a return, and an answer on its way is not shown. */
function closeHistory() {
  state.history = null;
  state.historyLine = null;
  state.historyAsked = null;
  byId("history-panel").hidden = true;
}

/** The open ledger history as it is now, on the same page. */
function reloadHistory() {
  if (!state.history) return null;
  const { historyLine, historyPagination } = state;
  return openHistory(historyLine, false, historyPagination?.page ?? null);
}

function renderHistory() {
  const line = state.historyLine;
  byId("history-heading").textContent = t("history.heading", { item: line.item_name, batch: line.batch || "—" });
  const container = byId("history-table");
  if (!state.history.length) {
    container.replaceChildren(el("p", { class: "hint", text: t("history.empty") }));
    return;
  }
  const rows = state.history.map((movement) =>
    el(
      "tr",
      { dataset: { movementId: String(movement.id) } },
      el("td", { text: formatDateTime(movement.occurred_at) }),
      el("td", { text: referenceLabel(ctx.labels, "movement_kinds", movement.kind) }),
      el("td", { class: "number", text: formatSigned(movement.delta) }),
      el("td", { class: "number", text: formatQuantity(movement.quantity_after) }),
      el("td", { text: movement.actor }),
      el("td", { text: movement.reason }),
      el("td", { text: movement.reference || "" }),
    ),
  );
  const headers = ["time", "kind", "delta", "after", "actor", "reason", "reference"].map((key) =>
    t(`history.col.${key}`),
  );
  container.replaceChildren(
    table(byId("history-heading").textContent, headers, rows, "history"),
    pager(state.historyPagination, (page) => openHistory(line, false, page)),
  );
}

// --- call-ups waiting for these warehouses ---------------------------------------------------

/**
 * Managers: every assigned warehouse. Provincial staff and administrators: the warehouse they
 * opened, when they may change it. Nobody else decides call-up lines.
 */
async function refreshQueue() {
  if (ctx.user.role === "manager") {
    await loadQueue(
      state.warehouses.map((warehouse) => warehouse.code),
      { key: "queue.heading_mine", values: {} },
    );
  } else if (state.warehouse && canChange(state.warehouse)) {
    await loadQueue([state.warehouse.code], { key: "queue.heading_one", values: { warehouse: state.warehouse.name } });
  } else {
    await loadQueue([], null);
  }
}

/** After a decision: the source's stock, and after a dispatch the line's ledger with the issue. */
async function showDecided(callupLine, kind) {
  const code = callupLine.warehouse_code;
  if (state.warehouse?.code !== code) {
    const warehouse =
      state.warehouses.find((one) => one.code === code) || (await get(`/warehouses/${encodeURIComponent(code)}`));
    await openWarehouse(warehouse, false);
  } else {
    await loadLines(state.linePage);
  }
  if (kind !== "dispatch") return;
  await reloadExpiring(); // the dispatch issued from a batch that list may show
  const id = callupLine.stock_line_id;
  const line = state.lines.find((one) => one.id === id) || (await get(`/stock-lines/${id}`));
  await openHistory(line, false);
}
