// Small DOM helpers. Text always goes in through textContent: nothing from the API is parsed as HTML.

import { ApiError, FIELD_ERRORS } from "./api.js";
import { locale, t } from "./i18n.js";

/** el("button", {type: "button", class: "link", on: {click}}, "text", child…) */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "on") for (const [event, handler] of Object.entries(value)) node.addEventListener(event, handler);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node && typeof value !== "string") node[key] = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A form's control by name (form.elements.item would be the collection's item() method). */
export function control(form, name) {
  return form.elements.namedItem(name);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

export function show(node, visible = true) {
  node.hidden = !visible;
}

export function formatQuantity(value) {
  if (value === null || value === undefined) return "";
  return new Intl.NumberFormat(locale(), { maximumFractionDigits: 3 }).format(value);
}

export function formatSigned(value) {
  return (value > 0 ? "+" : "") + formatQuantity(value);
}

export function formatDateTime(iso) {
  if (!iso) return "";
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return iso;
  const pad = (n) => String(n).padStart(2, "0");
  return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())} ${pad(when.getHours())}:${pad(when.getMinutes())}`;
}

/** Today (local) as YYYY-MM-DD, shifted by `days`. */
export function isoDay(days = 0) {
  const day = new Date();
  day.setDate(day.getDate() + days);
  const pad = (n) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

/** "expired", "expiring" (within 30 days) or "" for an expiry date string. */
export function expiryState(expiry) {
  if (!expiry) return "";
  if (expiry < isoDay(0)) return "expired";
  if (expiry <= isoDay(30)) return "expiring";
  return "";
}

// --- the status line and form errors --------------------------------------------------------

/** Announce an API problem (its title and detail) in the status line. */
export function announceProblem(error) {
  // A 401 ended the session: the page is back at the login form and has said so in its own words.
  if (error.status === 401) return;
  // A field_errors detail names the API's fields ("radius_km: …"): the form marks each field, so
  // the status line gives the messages alone.
  const messages = Object.values(error.fields).flat();
  const detail = error.problem.code === FIELD_ERRORS && messages.length ? messages.join(" ") : error.message;
  announce(`${error.problem.title || t("common.error")}: ${detail}`, "error");
}

export function announce(message, kind = "info") {
  const status = document.getElementById("status");
  status.textContent = message;
  status.dataset.kind = kind;
}

/** After a success, an error still in the status line is no longer true: clear it (other news stays). */
export function clearStaleError() {
  const status = document.getElementById("status");
  if (status.dataset.kind === "error") announce("");
}

export function clearFormErrors(form) {
  for (const node of form.querySelectorAll(".field-error")) node.remove();
  for (const node of form.querySelectorAll("[aria-invalid]")) {
    node.removeAttribute("aria-invalid");
    const ids = (node.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && !id.endsWith("-error"));
    if (ids.length) node.setAttribute("aria-describedby", ids.join(" "));
    else node.removeAttribute("aria-describedby");
  }
  const box = form.querySelector(".form-error");
  if (box) {
    box.textContent = "";
    box.hidden = true;
  }
}

/**
 * Show an ApiError on a form: each field's messages right after that field (aria-describedby,
 * aria-invalid), anything that names no field of the form in the form's alert box.
 * `aliases` maps API field names to form control names.
 */
export function showFormErrors(form, error, aliases = {}) {
  clearFormErrors(form);
  const unplaced = [];
  let first = null;
  for (const [field, said] of Object.entries(error.fields || {})) {
    let input = control(form, aliases[field] || field);
    if (input instanceof RadioNodeList) input = input[0]; // a group of checkboxes: its first box
    if (!input || !(input instanceof HTMLElement) || input.closest("[hidden]")) {
      // Without the API's name for the field ("line_id: …"): nobody at the form knows it by that name.
      unplaced.push(said.join(" "));
      continue;
    }
    const messages = inFieldWords(said, error.fieldCodes?.[field], input);
    const id = `${form.id}-${input.name}-error`;
    const message = el("p", { class: "field-error", id, text: messages.join(" ") });
    (input.closest(".field") || input.closest("fieldset") || input).append(message);
    input.setAttribute("aria-invalid", "true");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    input.setAttribute("aria-describedby", [...described, id].join(" "));
    first = first || input;
  }
  const box = form.querySelector(".form-error");
  const general = [];
  if (!Object.keys(error.fields || {}).length || unplaced.length) {
    general.push(error.problem?.title || t("common.error"));
    if (error.problem?.detail && !unplaced.length) general.push(error.problem.detail);
    general.push(...unplaced);
  }
  if (box) {
    box.textContent = general.join(" — ");
    box.hidden = general.length === 0;
  }
  if (first) first.focus();
  else if (box && general.length) box.focus();
}

const CJK_END = /[\u3400-\u9fff]$/u;
const CJK_START = /^ [\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/u;

/** The field's messages saying the field as its label does: the API names it by its own name ("incident_name 为必填项",
 * params.field in error_codes), which a person at the form never sees; the status line, which said the same, too. */
function inFieldWords(messages, codes, input) {
  const words = fieldWords(input);
  if (!words) return messages;
  const status = document.getElementById("status");
  return messages.map((message, index) => {
    const name = codes?.[index]?.params?.field;
    if (!name || !message.includes(name)) return message;
    const [before, ...after] = message.split(name);
    // Chinese runs on without a space: "储备类型为必填项"; the API's space after a code ("reserve_types 为必填项") goes.
    const runsOn = (rest) => CJK_END.test(words) && CJK_START.test(rest);
    const shown = before + after.map((rest) => words + (runsOn(rest) ? rest.slice(1) : rest)).join("");
    if (status?.dataset.kind === "error") status.textContent = status.textContent.replaceAll(message, shown);
    return shown;
  });
}

/** What the form calls an input: its label's text without a trailing note ("事件名称（必填）" → "事件名称"). */
function fieldWords(input) {
  // A box of a group (reserve types) is labelled by its own choice: the group's legend names the field.
  const grouped = input.form?.elements.namedItem(input.name) instanceof RadioNodeList;
  const group = grouped ? input.closest("fieldset")?.querySelector("legend") : null;
  const text = (group || input.labels?.[0])?.textContent.trim() || "";
  return text.replace(/\s*[（(][^（()）]*[）)]$/, "").trim();
}

// --- actions: buttons disabled and regions busy meanwhile, API problems announced -----------------

/**
 * Run `action` with `buttons` (one button or a list) disabled and `region` marked aria-busy until it
 * settles, whatever the outcome; then the buttons are enabled again and `settle()` may say otherwise.
 * Errors are thrown on. Returns what `action` returns.
 */
export async function whileBusy({ buttons = [], region = null, settle = null }, action) {
  const disabled = buttons instanceof Element ? [buttons] : [...buttons];
  for (const button of disabled) button.disabled = true;
  region?.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    for (const button of disabled) button.disabled = false;
    settle?.();
    region?.removeAttribute("aria-busy");
  }
}

/** A refresh nobody asked for: a failure (an ApiError, a session ended meanwhile among them) waits for the
 * next one instead of filling the status line. */
export async function quietly(refresh) {
  try {
    await refresh();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
}

/**
 * whileBusy, and an ApiError from `action` is announced in the status line, then handed to
 * `onProblem(error)` (show it on the form); any other error is thrown on. Returns what `action`
 * returns, or undefined after an ApiError.
 */
export async function runAction({ onProblem = null, ...busy }, action) {
  return whileBusy(busy, async () => {
    try {
      const result = await action();
      clearStaleError();
      return result;
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      announceProblem(error);
      await onProblem?.(error);
      return undefined;
    }
  });
}

// --- tables and pagers -----------------------------------------------------------------------

/**
 * A table with a caption and headers; `rows` is a list of <tr>. Wrapped so it scrolls sideways on a
 * desk; at phone width each row becomes a card whose cells are labelled by their header (data-label).
 */
export function table(caption, headers, rows, className = "") {
  for (const row of rows) {
    [...row.children].forEach((cell, index) => {
      if (headers[index]) cell.dataset.label = headers[index];
    });
  }
  return el(
    "div",
    // "(table)" after the caption: a region named like the section around it is a duplicate landmark.
    { class: "table-wrap", tabindex: "0", role: "region", "aria-label": t("common.table_region", { caption }) },
    el(
      "table",
      { class: className },
      el("caption", { class: "visually-hidden", text: caption }),
      el("thead", {}, el("tr", {}, headers.map((header) => el("th", { scope: "col", text: header })))),
      el("tbody", {}, rows),
    ),
  );
}

/** Previous / "page x of y" / Next for an X-Pagination header; calls onPage(n). */
export function pager(pagination, onPage) {
  if (!pagination || (pagination.total_pages || 0) <= 1) return el("div", { class: "pager", hidden: true });
  const page = pagination.page || 1;
  return el(
    "nav",
    { class: "pager", "aria-label": t("common.page", { page, pages: pagination.total_pages, total: pagination.total }) },
    el("button", {
      type: "button",
      text: t("common.previous"),
      disabled: !pagination.previous_page,
      on: { click: () => onPage(pagination.previous_page) },
    }),
    el("span", { text: t("common.page", { page, pages: pagination.total_pages, total: pagination.total }) }),
    el("button", {
      type: "button",
      text: t("common.next"),
      disabled: !pagination.next_page,
      on: { click: () => onPage(pagination.next_page) },
    }),
  );
}

/** Run `fn` at most once per `ms` of quiet (typing into a search field). */
export function debounce(fn, ms = 250) {
  let timer = null;
  return (...args) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => fn(...args), ms);
  };
}
