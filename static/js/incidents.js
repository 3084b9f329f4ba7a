// Incidents on the page: open an incident, raise call-ups against it, ship the reserved lines,
// receive them (short or damaged with a reason), write off consumption, return what was not used,
// close it and read the settlement sheet (with its .xlsx). Everything goes through the same API as
// the other views (/incidents, /callups, /shipments, /unit-prices); the API decides who may do what.
// Its own words live here, in both languages; server-written notes come in the page's language from the API (eventNote).

import { ApiError, apiUrl, get, post, request } from "./api.js";
import { announce, announceProblem, clear, clearFormErrors, control, debounce, el, formatDateTime, formatQuantity, pager, showFormErrors, table } from "./dom.js";
import { canRaise, eventLabel, eventNote } from "./callups.js";
import { labelled, lang, onLanguageChange, referenceLabel } from "./i18n.js";
import { regionLabel, suggestCounties } from "./suggest.js";

const WORDS = {
  heading: ["事件与物流", "Incidents and logistics"],
  new_incident: ["新建事件", "New incident"],
  name: ["事件名称", "Incident name"],
  type: ["事件类型", "Type"],
  county: ["区县（名称或代码）", "County (name or code)"],
  county_name: ["区县", "County"],
  place: ["地点", "Place"],
  lead: ["牵头单位", "Lead organisation"],
  create: ["创建", "Create"],
  list: ["事件列表", "Incidents"],
  no_incidents: ["暂无事件", "No incidents yet"],
  open: ["打开", "Open"],
  code: ["编号", "Code"],
  actions: ["操作", "Actions"],
  raise: ["发起调用", "Raise call-up"],
  item: ["物资", "Item"],
  quantity: ["数量", "Quantity"],
  reserve_type: ["优先储备类型", "Preferred reserve type"],
  lat: ["纬度", "Latitude"],
  lon: ["经度", "Longitude"],
  where: ["从事件所在区县查找库存；填写经纬度则从该点查找", "Stock is looked for from the incident's county, or from the point when latitude and longitude are given"],
  pending: ["待发运", "Awaiting dispatch"],
  ship: ["发运所选", "Ship selected"],
  carrier: ["承运方/车辆", "Carrier / vehicle"],
  driver: ["司机", "Driver"],
  phone: ["电话", "Phone"],
  eta: ["预计到达", "ETA"],
  shipments: ["发运单", "Shipments"],
  receive: ["接收", "Receive"],
  received: ["实收", "Received"],
  damaged: ["损坏", "Damaged"],
  short: ["短少", "Short"],
  reason: ["差异原因", "Reason"],
  overdue: ["已超时", "overdue"],
  lines: ["调用明细", "Lines"],
  consume: ["消耗", "Consume"],
  give_back: ["归还", "Return"],
  close: ["结束事件", "Close incident"],
  settlement: ["结算", "Settlement"],
  price: ["单价", "Unit price"],
  warehouse: ["仓库", "Warehouse"],
  set_price: ["设置单价", "Set price"],
  download: ["下载 .xlsx", "Download .xlsx"],
  total: ["合计金额", "Total amount"],
  replenish: ["补充储备", "Replenishment"],
  timeline: ["时间线", "Timeline"],
  done: ["已保存", "Saved"],
  call_up: ["调用单", "Call-up"],
  dispatched: ["调出", "Dispatched"],
  in_transit: ["在途", "In transit"],
  lost: ["途损", "Lost"],
  consumed: ["已消耗", "Consumed"],
  returned: ["已归还", "Returned"],
  on_site: ["现场", "On site"],
  charged: ["结算数量", "Charged"],
  amount: ["金额", "Amount"],
  status: ["状态", "Status"],
  site: ["事件现场", "incident site"],
};
// What happened to the incident's stock, as the timeline's `event` names it (inventory/incidents.py); the call-ups'
// own events (raised, dispatched, …) are named as the call-up's history names them (callups.js eventLabel).
const TIMELINE_EVENTS = {
  opened: ["创建事件", "Opened"],
  shipped: ["发出", "Shipped"],
  returned: ["退回", "Returned"],
  received: ["接收", "Received"],
  consumed: ["消耗", "Consumed"],
  closed: ["结束事件", "Closed"],
};
// A receipt's difference as the API writes it: "short 2; damaged 1: reason" (inventory/incidents.py).
const DISCREPANCY = /^((?:short|damaged) [\d.]+(?:; (?:short|damaged) [\d.]+)*)(?:: ([\s\S]*))?$/;
const TYPES = ["water", "air", "soil", "chemical_spill", "oil_spill", "other"];
const PAID_TYPES = ["enterprise", "third_party", "production", "government"];

let ctx = null;
let root = null;
let current = null; // the incident code shown
let listPage = 1; // the page of the incidents list shown
const LIST_PAGE_SIZE = 20;

function w(key) {
  return WORDS[key][lang() === "zh" ? 0 : 1];
}

function label(group, code) {
  return referenceLabel(ctx.labels, group, code);
}

function field(name, text, props = {}) {
  const id = `incidents-${name}-${Math.random().toString(36).slice(2, 8)}`;
  const input = props.options
    ? el("select", { id, name }, props.options.map(([value, words]) => el("option", { value, text: words })))
    : el("input", { id, name, ...props });
  return el("div", { class: "field" }, el("label", { for: id, text }), input);
}

/** `onConflict(node)`: a 409 (changed elsewhere meanwhile) shows the form's part of the incident as it is now, before
 * the message is shown on the form; what was typed in it stays. */
function form(id, children, submitText, onSubmit, aliases = {}, onConflict = null) {
  const node = el("form", { id, class: "stacked", novalidate: true }, children, el("p", { class: "form-error", role: "alert", hidden: true }));
  node.append(el("button", { type: "submit", text: submitText }));
  node.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearFormErrors(node);
    try {
      await onSubmit(node);
      announce(w("done"), "ok");
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      if (error.status === 409 && onConflict) await onConflict(node).catch(() => {});
      showFormErrors(node, error, aliases);
      announceProblem(error);
    }
  });
  return node;
}

function value(node, name) {
  return control(node, name).value.trim();
}

/** The field as a number for the API; text that is not one goes as typed, for the API to say so next to the field
 * (as NaN it went as null, and the API answered "此字段不能为空（null）" for "abc"). */
function number(node, name) {
  return numeric(value(node, name));
}

function numeric(text) {
  if (text === "") return undefined;
  return Number.isFinite(Number(text)) ? Number(text) : text;
}

export async function init(context) {
  ctx = context;
  root = document.getElementById("incidents-root");
  onLanguageChange(() => ctx.user && render());
}

export async function show() {
  await render();
}

export function reset() {
  current = null;
  listPage = 1;
  if (root) clear(root);
}

/** Who may open, raise against and close an incident: the roles that raise call-ups (inventory/incidents.py
 * MANAGING_ROLES is that set); a manager and a viewer were offered the forms and always refused. */
function mayManage() {
  return canRaise(ctx.user);
}

/** A viewer reads incidents; the other roles may ship, receive, write off and return (the API checks each warehouse). */
function mayMove() {
  return ctx.user.role !== "viewer";
}

async function render() {
  clear(root).append(
    ...(mayManage()
      ? [el("section", { class: "panel", "aria-labelledby": "incidents-new-heading" }, el("h3", { id: "incidents-new-heading", text: w("new_incident") }), newIncidentForm())]
      : []),
    el("section", { id: "incidents-list", class: "panel" }),
    el("section", { id: "incident-detail", class: "panel", "aria-live": "polite", hidden: true }),
  );
  await loadList(listPage);
  if (current) await openIncident(current);
}

/** A page of incidents, newest first, with a pager: past the first page they were out of the page's reach. */
async function loadList(page) {
  const { data: incidents, pagination } = await request("/incidents", { query: { page, page_size: LIST_PAGE_SIZE } });
  listPage = page;
  const rows = incidents.map((incident) =>
    el(
      "tr",
      {},
      el("td", { text: incident.code }),
      el("td", { text: incident.name }),
      el("td", { text: label("incident_statuses", incident.status) }),
      el("td", {}, el("button", { type: "button", class: "link", text: w("open"), on: { click: () => openIncident(incident.code) } })),
    ),
  );
  clear(document.getElementById("incidents-list")).append(
    el("h3", { text: w("list") }),
    rows.length
      ? table(w("list"), [w("code"), w("name"), w("status"), w("actions")], rows)
      : el("p", { class: "hint", text: w("no_incidents") }),
    pager(pagination, (next) => loadList(next)),
  );
}

function newIncidentForm() {
  const create = form(
    "incident-new",
    [
      field("name", w("name"), { required: true }),
      field("incident_type", w("type"), { options: TYPES.map((code) => [code, label("incident_types", code)]) }),
      // A code or a name (东城, 北京市东城区): the API finds it as the nearest search does.
      field("county", w("county"), { list: "incident-county-options", autocomplete: "off", maxlength: 64 }),
      el("datalist", { id: "incident-county-options" }),
      field("place", w("place")),
      field("lead_organisation", w("lead")),
    ],
    w("create"),
    async (node) => {
      const body = { name: value(node, "name"), incident_type: value(node, "incident_type") };
      for (const name of ["county", "place", "lead_organisation"]) if (value(node, name)) body[name] = value(node, name);
      const incident = await post("/incidents", body);
      current = incident.code;
      listPage = 1; // the new incident heads the first page
      await render();
    },
  );
  const county = control(create, "county");
  county.addEventListener("input", debounce(() => suggestCounties(county.value, create.querySelector("#incident-county-options"), new Map())));
  return create;
}

async function openIncident(code) {
  current = code;
  const incident = await get(`/incidents/${encodeURIComponent(code)}`);
  const callups = await Promise.all(incident.callup_codes.map((callup) => get(`/callups/${callup}`)));
  const shipments = await get("/shipments", { incident: code, page_size: 100 });
  // The incident names its county by code only: the page says its name (110108 is 海淀区 · 北京市 to a person).
  const county = incident.county_code ? await get(`/regions/${encodeURIComponent(incident.county_code)}`) : null;
  // A closed incident takes no more call-ups, consumption, returns or closing (the API refuses them with
  // 409): it offers none of them, only its settlement and timeline.
  const open = incident.status === "open";
  const manage = open && mayManage();
  const move = open && mayMove();
  const detail = clear(document.getElementById("incident-detail"));
  detail.hidden = false;
  detail.append(
    el("h3", { id: "incident-title", text: `${incident.code} ${incident.name} — ${label("incident_statuses", incident.status)}` }),
    el("p", { id: "incident-where", class: "meta", text: whereText(incident, county) }),
    ...(manage ? [raiseForm(incident, county)] : []),
    ...(move ? [pendingForm(callups)] : []),
    shipmentsPart(shipments),
    linesPart(incident, move),
    ...(manage ? [el("div", {}, el("button", { type: "button", id: "incident-close", text: w("close"), on: { click: (event) => act(() => post(`/incidents/${code}/close`, {}), event.currentTarget.parentElement) } }))] : []),
    await settlementPart(incident),
    timelinePart(incident),
  );
}

/** Where the incident is, in words: its county by name, the place and the lead organisation as written. */
function whereText(incident, county) {
  return [
    county ? labelled(w("county_name"), regionLabel(county)) : "",
    incident.place ? labelled(w("place"), incident.place) : "",
    incident.lead_organisation ? labelled(w("lead"), incident.lead_organisation) : "",
  ]
    .filter(Boolean)
    .join(" · ");
}

/** A button's action; a refusal is said in the status line and under `place` too (the button's cell): on a phone the
 * status line is a screen or more above the row whose 消耗 was tapped, and the refusal went unseen there. */
async function act(fn, place = null) {
  place?.querySelector(":scope > .field-error")?.remove();
  try {
    await fn();
    announce(w("done"), "ok");
    await openIncident(current);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    announceProblem(error);
    const said = Object.values(error.fields).flat();
    place?.append(el("p", { class: "field-error", role: "alert", text: said.length ? said.join(" ") : error.message }));
  }
}

function raiseForm(incident, county) {
  // The county's name under the field while the field still holds the incident's county (another typed: it goes).
  const countyName = county ? el("p", { id: "incident-county-name", class: "hint county-name", text: regionLabel(county) }) : null;
  const raise = form(
    "incident-raise",
    [
      field("item", w("item"), { required: true }),
      field("quantity", w("quantity"), { inputmode: "decimal", required: true }),
      field("reserve_type", w("reserve_type"), { options: [["", "—"], ...PAID_TYPES.map((code) => [code, label("reserve_types", code)])] }),
      // Where the stock is looked for: the incident's own county, unless a point is typed (the API takes one or
      // the other). It was a fixed point in Beijing, whatever the incident's county.
      el("p", { class: "hint", text: w("where") }),
      field("county", w("county"), { value: incident.county_code || "", maxlength: 64 }),
      countyName,
      field("lat", w("lat"), { inputmode: "decimal" }),
      field("lon", w("lon"), { inputmode: "decimal" }),
    ],
    w("raise"),
    async (node) => {
      const preference = value(node, "reserve_type");
      const point = value(node, "lat") || value(node, "lon");
      await post("/callups", {
        incident_code: incident.code,
        ...(point ? { lat: number(node, "lat"), lon: number(node, "lon") } : { county: value(node, "county") || undefined }),
        needs: [{ item: value(node, "item"), quantity: number(node, "quantity") }],
        reserve_type_preference: preference ? [preference] : [],
      });
      await openIncident(incident.code);
    },
    { "needs.0.item": "item", "needs.0.quantity": "quantity", reserve_type_preference: "reserve_type" },
  );
  const countyField = control(raise, "county");
  if (countyName) countyField.setAttribute("aria-describedby", countyName.id);
  countyField.addEventListener("input", () => {
    if (countyName) countyName.hidden = countyField.value.trim() !== incident.county_code;
  });
  return raise;
}

/** The lines reserved and not yet shipped, as checkboxes (those in `checked` ticked). */
function pendingBoxes(callups, checked = new Set()) {
  const pending = callups.flatMap((callup) => callup.lines.filter((line) => line.status === "reserved").map((line) => ({ callup, line })));
  return pending.map(({ callup, line }) => {
    const unit = callup.needs.find((need) => need.item_code === line.item_code)?.unit || "";
    const what = `${callup.code} · ${line.warehouse_name} · ${line.item_name} · ${line.batch || "—"} · ${formatQuantity(line.quantity)} ${unit}`;
    const box = el("input", { type: "checkbox", name: "line_ids", value: String(line.id), checked: checked.has(String(line.id)) });
    return el("label", { class: "check" }, box, ` ${what.trim()}`);
  });
}

function pendingForm(callups) {
  const boxes = pendingBoxes(callups);
  const lines = el("fieldset", {}, el("legend", { text: w("pending") }), boxes);
  // A line declined, cancelled or shipped elsewhere meanwhile (409): the list as it is now, the ticks that still
  // apply and the carrier and driver as typed; it went on offering the line, ticked.
  const listAgain = async (formNode) => {
    const incident = await get(`/incidents/${encodeURIComponent(current)}`);
    const now = await Promise.all(incident.callup_codes.map((callup) => get(`/callups/${callup}`)));
    const checked = new Set([...formNode.querySelectorAll("input[name=line_ids]:checked")].map((box) => box.value));
    lines.replaceChildren(el("legend", { text: w("pending") }), ...pendingBoxes(now, checked));
  };
  const node = form(
    "incident-ship",
    [
      lines,
      field("carrier", w("carrier")),
      field("driver", w("driver")),
      field("driver_phone", w("phone")),
      field("eta", w("eta"), { type: "datetime-local" }),
    ],
    w("ship"),
    async (formNode) => {
      const ids = [...formNode.querySelectorAll("input[name=line_ids]:checked")].map((box) => Number(box.value));
      const body = { line_ids: ids };
      for (const name of ["carrier", "driver", "driver_phone"]) if (value(formNode, name)) body[name] = value(formNode, name);
      if (value(formNode, "eta")) body.eta = new Date(value(formNode, "eta")).toISOString();
      await post("/shipments", body);
      await openIncident(current);
    },
    { line_id: "line_ids" },
    listAgain,
  );
  node.hidden = boxes.length === 0;
  return node;
}

function shipmentsPart(shipments) {
  const part = el("section", { "aria-label": w("shipments") }, el("h4", { text: w("shipments") }));
  for (const shipment of shipments) {
    const state = label("shipment_statuses", shipment.status) + (shipment.overdue ? ` · ${w("overdue")}` : "");
    const where = `${shipment.source_warehouse_name || w("site")} → ${shipment.target_warehouse_name || w("site")}`;
    part.append(el("p", { class: "shipment", dataset: { code: shipment.code } }, `${shipment.code} · ${label("shipment_kinds", shipment.kind)} · ${where} · ${state}`));
    if (shipment.status !== "in_transit" || !mayMove()) continue;
    const inputs = shipment.lines.map((line, index) =>
      el(
        "fieldset",
        { dataset: { line: String(line.id) } },
        el("legend", { text: `${line.item_name} · ${line.batch || "—"} · ${formatQuantity(line.quantity)} ${line.unit}` }),
        field(`received_${index}`, w("received"), { inputmode: "decimal", value: String(line.quantity) }),
        field(`damaged_${index}`, w("damaged"), { inputmode: "decimal", value: "0" }),
        field(`reason_${index}`, w("reason")),
      ),
    );
    part.append(
      form(`receive-${shipment.code}`, inputs, `${w("receive")} ${shipment.code}`, async (node) => {
        const lines = shipment.lines.map((line, index) => {
          const entry = { id: line.id, received: number(node, `received_${index}`), damaged: number(node, `damaged_${index}`) || 0 };
          if (value(node, `reason_${index}`)) entry.reason = value(node, `reason_${index}`);
          return entry;
        });
        await post(`/shipments/${shipment.code}/receive`, { lines });
        await openIncident(current);
      }, receiptAliases(shipment.lines.length)),
    );
  }
  return part;
}

/** The timeline's note: plan outcomes as call-ups say them, a receipt's difference with its amounts as the page writes
 * numbers. The API answers these in the reader's language; only its English (the source) has this shape. */
function timelineNote(entry) {
  const note = entry.note || "";
  const difference = entry.event === "received" && note.match(DISCREPANCY);
  if (!difference) return eventNote(entry);
  const parts = difference[1].split("; ").map((part) => {
    const [kind, amount] = part.split(" ");
    return `${w(kind)} ${formatQuantity(Number(amount))}`;
  });
  return parts.join("; ") + (difference[2] ? `: ${difference[2]}` : "");
}

/** The API names receipt fields lines[i].received … (a refused receipt) or lines.i.received … (a value that is not
 * one: api.js flattens the schema's nested errors so); the form calls them received_i …. */
function receiptAliases(count) {
  const aliases = {};
  for (let index = 0; index < count; index += 1) {
    for (const name of ["received", "damaged", "short", "reason"]) {
      const input = `${name === "short" ? "received" : name}_${index}`;
      aliases[`lines[${index}].${name}`] = input;
      aliases[`lines.${index}.${name}`] = input;
    }
  }
  return aliases;
}

function linesPart(incident, open) {
  const rows = incident.lines.map((line) => {
    const amount = el("input", { type: "text", inputmode: "decimal", size: 6, "aria-label": `${w("quantity")} ${line.line_id}`, dataset: { line: String(line.line_id) } });
    const quantity = () => numeric(amount.value.trim());
    const actions = el(
      "td",
      {},
      amount,
      el("button", { type: "button", class: "consume", text: w("consume"), on: { click: () => act(() => post(`/incidents/${incident.code}/consumption`, { callup_line_id: line.line_id, quantity: quantity() }), actions) } }),
      el("button", { type: "button", class: "give-back", text: w("give_back"), on: { click: () => act(() => post(`/incidents/${incident.code}/returns`, { lines: [{ callup_line_id: line.line_id, quantity: quantity() }] }), actions) } }),
    );
    return el(
      "tr",
      { dataset: { line: String(line.line_id) } },
      el("td", { text: `${line.callup_code} · ${line.warehouse_code} ${line.warehouse_name} · ${line.item_code} ${line.item_name}` }),
      ...["dispatched", "in_transit", "received", "lost", "consumed", "returned", "on_site"].map((key) => el("td", { text: formatQuantity(line[key]) })),
      open ? actions : null,
    );
  });
  const headers = [w("call_up"), w("dispatched"), w("in_transit"), w("received"), w("lost"), w("consumed"), w("returned"), w("on_site"), ...(open ? [w("actions")] : [])];
  return el("section", { id: "incident-lines" }, el("h4", { text: w("lines") }), table(w("lines"), headers, rows));
}

async function settlementPart(incident) {
  const part = el("section", { id: "incident-settlement" }, el("h4", { text: w("settlement") }));
  if (!["admin", "provincial", "manager"].includes(ctx.user.role)) return part;
  const sheet = await get(`/incidents/${incident.code}/settlement`);
  const rowOf = (row) =>
    el("tr", {}, el("td", { text: `${row.warehouse_code} ${row.warehouse_name}` }), el("td", { text: `${row.item_code} ${row.item_name}` }), el("td", { text: formatQuantity(row.charged) }), el("td", { text: row.unit_price === null ? "—" : formatQuantity(row.unit_price) }), el("td", { text: row.amount ?? "—" }));
  const headers = [w("warehouse"), w("item"), w("charged"), w("price"), w("amount")];
  part.append(
    table(w("settlement"), headers, sheet.rows.map(rowOf)),
    el("p", { id: "settlement-total", text: labelled(w("total"), sheet.total_amount) }),
    el("h5", { text: w("replenish") }),
    table(w("replenish"), headers, sheet.replenishment.map(rowOf)),
    el("a", { id: "settlement-download", href: apiUrl(`/incidents/${incident.code}/settlement.xlsx`, { lang: lang() }).href, download: "", text: w("download") }),
  );
  if (ctx.user.role !== "manager") {
    part.append(
      form("unit-price", [field("warehouse_code", w("warehouse")), field("item", w("item")), field("price", w("price"), { inputmode: "decimal" })], w("set_price"), async (node) => {
        await post("/unit-prices", { warehouse_code: value(node, "warehouse_code"), item: value(node, "item"), price: number(node, "price") });
        await openIncident(current);
      }),
    );
  }
  return part;
}

function timelinePart(incident) {
  const items = incident.timeline.map((entry) => {
    const event = TIMELINE_EVENTS[entry.event]?.[lang() === "zh" ? 0 : 1] ?? eventLabel(entry.event);
    const note = timelineNote(entry);
    return el("li", {}, `${formatDateTime(entry.at)} · ${event} · ${entry.actor}${entry.quantity !== null ? ` · ${formatQuantity(entry.quantity)}` : ""}${note ? ` · ${note}` : ""}`);
  });
  return el("section", { id: "incident-timeline" }, el("h4", { text: w("timeline") }), el("ol", {}, items));
}
