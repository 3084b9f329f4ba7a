// Nearest stock on a map: pick the incident (click, coordinates or county), an item or category
// and a quantity; see the nearest warehouses as a list and as markers with distance rings; build
// a plan covering several needs, and raise it as a call-up (callups.js), whose source warehouses
// are marked on the map. Leaflet is loaded on first use; tiles come from the server's
// configuration and the page keeps working without them (markers, rings, labels, scale).
// The coverage-gap layer and its controls are readiness.js's, drawn on this map.

import { get, request } from "./api.js";
import { announce, clear, clearFormErrors, control, debounce, el, formatQuantity, runAction, showFormErrors, table } from "./dom.js";
import { canRaise, closeRaise, initResponder, openRaise, resetResponder, showResponder } from "./callups.js";
import { label, onLanguageChange, t } from "./i18n.js";
import { initCoverage, resetCoverage } from "./readiness.js";

const LEAFLET = "/static/vendor/leaflet-1.9.4/";
const CHINA = { center: [35.0, 105.0], zoom: 4 };
const RING_STEPS_KM = [5, 10, 20, 50, 100, 200, 300, 500, 1000, 2000, 3000];
const TILE_ERRORS_BEFORE_OFFLINE = 4;
const RESULT_LIMIT = 20;
const LOCATION_FIELDS = new Set(["lat", "lon", "county"]);

let ctx = null;
let wired = false;
let L = null;
let map = null;
let layers = null;
// planBody: the request that produced the plan shown, which "Raise call-up" posts as it is.
const state = {
  answer: null,
  plan: null,
  planBody: null,
  raisedCode: null,
  needs: [],
  regions: new Map(),
  items: new Map(),
};
const sourceWarehouses = new Map(); // code → warehouse, for the call-up's markers

function byId(id) {
  return document.getElementById(id);
}

export async function init(context) {
  ctx = context;
  Object.assign(state, { answer: null, plan: null, planBody: null, raisedCode: null, needs: [] });
  if (!wired) {
    wire();
    wired = true;
  }
  initResponder(ctx, { onRaised: planUsed, showSources: drawCallup });
  fillChoices();
  renderResults();
  renderNeeds();
  renderPlan();
  L = await loadLeaflet();
  if (!map) createMap();
  else clearLayers();
  await initCoverage(ctx, L, map);
}

export async function show() {
  // The map's container had no size while hidden: let Leaflet measure it again.
  map?.invalidateSize();
  await showResponder();
}

export function reset() {
  Object.assign(state, { answer: null, plan: null, planBody: null, raisedCode: null, needs: [] });
  byId("nearest-form").reset();
  resetResponder();
  clearLayers();
  if (map) resetCoverage();
}

function wire() {
  byId("nearest-form").addEventListener("submit", search);
  byId("add-need").addEventListener("click", addNeed);
  byId("plan-form").addEventListener("submit", buildPlan);
  byId("callup").addEventListener("click", () => openRaise(state.planBody));
  byId("nearest-county").addEventListener("input", debounce(suggestCounties));
  byId("nearest-county").addEventListener("change", placeCounty);
  byId("nearest-item").addEventListener("input", debounce(suggestItems));
  for (const id of ["nearest-lat", "nearest-lon"]) byId(id).addEventListener("change", placeTypedPoint);
  onLanguageChange(() => {
    if (!ctx?.user) return;
    fillChoices();
    renderResults();
    renderNeeds();
    renderPlan();
  });
}

function fillChoices() {
  const category = byId("nearest-category");
  const chosenCategory = category.value;
  category.replaceChildren(
    el("option", { value: "", text: t("common.none") }),
    ...ctx.reference.categories.map((entry) => el("option", { value: entry.code, text: label(entry) })),
  );
  category.value = chosenCategory;

  const types = byId("nearest-types");
  const ticked = new Set([...types.querySelectorAll("input:checked")].map((box) => box.value));
  types.replaceChildren(
    el("legend", { text: t("map.reserve_types") }),
    ...ctx.reference.reserve_types.map((entry) =>
      el(
        "label",
        { class: "check" },
        el("input", { type: "checkbox", name: "reserve_types", value: entry.code, checked: ticked.has(entry.code) }),
        ` ${label(entry)}`,
      ),
    ),
  );
  for (const id of ["plan-prefer1", "plan-prefer2"]) {
    const select = byId(id);
    const chosen = select.value;
    select.replaceChildren(
      el("option", { value: "", text: t("common.any") }),
      ...ctx.reference.reserve_types.map((entry) => el("option", { value: entry.code, text: label(entry) })),
    );
    select.value = chosen;
  }
}

// --- Leaflet -----------------------------------------------------------------------------------

function loadLeaflet() {
  if (window.L) return Promise.resolve(window.L);
  return new Promise((resolve, reject) => {
    document.head.append(el("link", { rel: "stylesheet", href: `${LEAFLET}leaflet.css` }));
    const script = el("script", { src: `${LEAFLET}leaflet.js` });
    script.addEventListener("load", () => resolve(window.L));
    script.addEventListener("error", () => reject(new Error("the map library did not load")));
    document.head.append(script);
  });
}

function escapeHtml(text) {
  // Leaflet writes attributions as HTML: the configured credit is shown as plain text.
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function createMap() {
  const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  map = L.map("map", {
    center: CHINA.center,
    zoom: CHINA.zoom,
    worldCopyJump: true,
    zoomAnimation: !still,
    fadeAnimation: !still,
    markerZoomAnimation: !still,
  });
  L.control.scale({ imperial: false }).addTo(map);
  layers = {
    rings: L.layerGroup().addTo(map),
    results: L.layerGroup().addTo(map),
    plan: L.layerGroup().addTo(map),
    callup: L.layerGroup().addTo(map),
    incident: L.layerGroup().addTo(map),
  };
  const config = ctx.config || {};
  if (config.tile_url) probeTiles(config);
  else byId("tiles-offline").hidden = false;
  map.on("click", (event) => {
    const { lat, lng } = event.latlng.wrap();
    byId("nearest-lat").value = lat.toFixed(5);
    byId("nearest-lon").value = lng.toFixed(5);
    byId("nearest-county").value = "";
    drawIncident([lat, lng], null);
  });
}

/** One tile first: offline, that is the only request that fails, and the map draws without tiles. */
function probeTiles(config) {
  const probe = new Image();
  probe.addEventListener("load", () => addTiles(config));
  probe.addEventListener("error", () => {
    byId("tiles-offline").hidden = false;
  });
  probe.src = config.tile_url.replace("{s}", "a").replace("{r}", "").replace(/\{[xyz]\}/g, "0");
}

function addTiles(config) {
  const tiles = L.tileLayer(config.tile_url, { attribution: escapeHtml(config.tile_attribution || ""), maxZoom: 18 });
  let loaded = 0;
  let failed = 0;
  tiles.on("tileload", () => {
    loaded += 1;
  });
  tiles.on("tileerror", (event) => {
    failed += 1;
    event.tile.style.visibility = "hidden"; // no broken-image boxes over the markers
    if (!loaded && failed >= TILE_ERRORS_BEFORE_OFFLINE && map.hasLayer(tiles)) {
      map.removeLayer(tiles); // the tile server went away: stop asking
      byId("tiles-offline").hidden = false;
    }
  });
  tiles.addTo(map);
}

function clearLayers() {
  if (!layers) return;
  for (const layer of Object.values(layers)) layer.clearLayers();
}

function drawIncident(latlng, name) {
  layers.incident.clearLayers();
  const marker = L.marker(latlng, { title: t("map.incident"), keyboard: false });
  marker.bindTooltip(el("span", { text: name ? `${t("map.incident")} · ${name}` : t("map.incident") }), {
    permanent: true,
    direction: "top",
    offset: [0, -36],
    className: "incident-label",
  });
  layers.incident.addLayer(marker);
}

function ringRadii(radiusKm) {
  const steps = RING_STEPS_KM.filter((step) => step < radiusKm);
  return [...steps.slice(-3), radiusKm];
}

function drawRings(center, radiusKm) {
  layers.rings.clearLayers();
  for (const km of ringRadii(radiusKm)) {
    layers.rings.addLayer(
      L.circle(center, { radius: km * 1000, className: "ring", weight: 1, fill: false, interactive: false }),
    );
    // Labelled on the east side, clear of the incident's own label above it.
    const east = [center[0], center[1] + km / (111.32 * Math.max(Math.cos((center[0] * Math.PI) / 180), 0.01))];
    layers.rings.addLayer(
      L.tooltip({ permanent: true, direction: "center", className: "ring-label", interactive: false })
        .setLatLng(east)
        .setContent(el("span", { text: t("map.km", { km: formatQuantity(km) }) })),
    );
  }
}

// --- location and item pickers ---------------------------------------------------------------

async function suggestCounties() {
  const text = byId("nearest-county").value.trim();
  if (!text || /^\d{6}$/.test(text)) return;
  const regions = await get("/regions", { level: "county", name: text, page_size: 15 });
  for (const region of regions) state.regions.set(region.code, region);
  byId("county-options").replaceChildren(
    ...regions.map((region) => el("option", { value: region.code, text: region.name })),
  );
}

function placeCounty() {
  const value = byId("nearest-county").value.trim();
  const region = state.regions.get(value);
  if (!value) return;
  byId("nearest-lat").value = "";
  byId("nearest-lon").value = "";
  if (region && map) {
    drawIncident([region.latitude, region.longitude], region.name);
    map.setView([region.latitude, region.longitude], Math.max(map.getZoom(), 7));
  }
}

function placeTypedPoint() {
  const lat = Number.parseFloat(byId("nearest-lat").value);
  const lon = Number.parseFloat(byId("nearest-lon").value);
  if (Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180 && map) {
    byId("nearest-county").value = "";
    drawIncident([lat, lon], null);
  }
}

async function suggestItems() {
  const text = byId("nearest-item").value.trim();
  if (!text) return;
  const items = await get("/items", { q: text, page_size: 10 });
  for (const item of items) state.items.set(item.code, item);
  byId("item-options").replaceChildren(
    ...items.map((item) => el("option", { value: item.code, text: `${item.name} · ${item.unit}` })),
  );
}

/** The incident part of a query or body: county, or lat and lon; blank fields are left out. */
function locationValues() {
  const county = byId("nearest-county").value.trim();
  if (county) return { county };
  const values = {};
  for (const name of ["lat", "lon"]) {
    const value = byId(`nearest-${name}`).value.trim();
    if (value) values[name] = value;
  }
  return values;
}

// --- nearest search ----------------------------------------------------------------------------

async function search(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const value = (name) => control(form, name).value.trim();
  const query = {
    ...locationValues(),
    item: value("item"),
    category: value("category"),
    quantity: value("quantity"),
    radius_km: value("radius_km"),
    reserve_types: [...form.querySelectorAll("input[name=reserve_types]:checked")].map((box) => box.value),
    include_expired: control(form, "include_expired").checked ? "true" : "",
    limit: RESULT_LIMIT,
  };
  const busy = {
    buttons: form.querySelector("button[type=submit]"),
    region: byId("nearest-results"),
    onProblem: (error) => showFormErrors(form, error, { reserve_types: "reserve_types" }),
  };
  await runAction(busy, async () => {
    const answer = await request("/nearest", { query });
    clearFormErrors(form);
    state.answer = answer.data;
    renderResults();
    drawResults();
  });
}

function unitOf(result) {
  return state.answer?.item?.unit || result.lines[0]?.unit || "";
}

function renderResults() {
  const list = byId("nearest-results");
  const summary = byId("nearest-summary");
  clear(list);
  const answer = state.answer;
  if (!answer) {
    summary.textContent = "";
    return;
  }
  const radius = formatQuantity(answer.radius_km);
  summary.textContent = answer.results.length
    ? t("map.summary", { count: answer.results.length, radius })
    : t("map.summary_none", { radius });
  answer.results.forEach((result, index) => {
    const warehouse = result.warehouse;
    const unit = unitOf(result);
    const details = el(
      "details",
      {},
      el("summary", { text: `${t("plan.col.batch")} (${result.lines.length})` }),
      el(
        "ul",
        { class: "batches" },
        result.lines.map((line) =>
          el(
            "li",
            {},
            `${line.item_name} · ${line.batch || "—"} · ${formatQuantity(line.available)} ${line.unit}`,
            line.expiry_date ? ` · ${t("stock.col.expiry")} ${line.expiry_date}` : "",
          ),
        ),
      ),
    );
    list.append(
      el(
        "li",
        { class: result.covers_quantity ? "result covers" : "result", dataset: { code: warehouse.code } },
        el(
          "button",
          {
            type: "button",
            class: "link result-title",
            on: { click: () => focusResult(index) },
          },
          `${index + 1}. ${warehouse.name}`,
        ),
        el(
          "p",
          { class: "meta" },
          `${t("map.km", { km: formatQuantity(result.distance_km) })} · ${label(ctx.labels.reserve_types[warehouse.reserve_type])} · ${warehouse.county_name} · ${warehouse.code}`,
        ),
        el(
          "p",
          {},
          result.total_available !== null && result.total_available !== undefined
            ? t("map.available", { quantity: formatQuantity(result.total_available), unit })
            : "",
          result.covers_quantity ? el("span", { class: "badge ok", text: t("map.covers") }) : null,
          result.cumulative_available !== null && result.cumulative_available !== undefined
            ? el("span", { class: "meta", text: ` · ${t("map.cumulative", { quantity: formatQuantity(result.cumulative_available) })}` })
            : null,
        ),
        warehouse.contact_phone
          ? el(
              "p",
              { class: "meta" },
              `${warehouse.contact_person || ""} `,
              el("a", { href: `tel:${warehouse.contact_phone.replace(/[^\d+]/g, "")}`, text: warehouse.contact_phone }),
            )
          : null,
        details,
      ),
    );
  });
}

function popupFor(result, index) {
  const warehouse = result.warehouse;
  return el(
    "div",
    { class: "popup" },
    el("strong", { text: `${index + 1}. ${warehouse.name}` }),
    el("br"),
    `${t("map.km", { km: formatQuantity(result.distance_km) })} · ${warehouse.code}`,
    result.total_available !== null && result.total_available !== undefined
      ? [el("br"), t("map.available", { quantity: formatQuantity(result.total_available), unit: unitOf(result) })]
      : null,
    warehouse.contact_phone ? [el("br"), `${t("map.call")}: ${warehouse.contact_phone}`] : null,
  );
}

const markers = [];

function drawResults() {
  if (!map) return;
  const answer = state.answer;
  layers.results.clearLayers();
  layers.plan.clearLayers();
  markers.length = 0;
  const center = [answer.incident.latitude, answer.incident.longitude];
  drawIncident(center, answer.incident.county_name);
  drawRings(center, answer.radius_km);
  answer.results.forEach((result, index) => {
    const marker = L.circleMarker([result.warehouse.latitude, result.warehouse.longitude], {
      radius: 9,
      className: result.covers_quantity ? "stock-marker covers" : "stock-marker",
      weight: 2,
      fillOpacity: 0.85,
    });
    marker.bindTooltip(el("span", { text: String(index + 1) }), {
      permanent: true,
      direction: "center",
      className: "rank-label",
    });
    marker.bindPopup(popupFor(result, index));
    layers.results.addLayer(marker);
    markers.push(marker);
  });
  const bounds = markers.length ? L.latLngBounds([center]) : ringBounds(center, answer.radius_km);
  for (const marker of markers) bounds.extend(marker.getLatLng());
  map.fitBounds(bounds.pad(0.15), { maxZoom: 10 });
}

/** The box around a ring, computed rather than measured (a circle has no bounds off the map). */
function ringBounds(center, km) {
  const dLat = km / 111.32;
  const dLon = km / (111.32 * Math.max(Math.cos((center[0] * Math.PI) / 180), 0.01));
  return L.latLngBounds([center[0] - dLat, center[1] - dLon], [center[0] + dLat, center[1] + dLon]);
}

function focusResult(index) {
  const marker = markers[index];
  if (!marker) return;
  map.setView(marker.getLatLng(), Math.max(map.getZoom(), 8));
  marker.openPopup();
}

// --- plans ---------------------------------------------------------------------------------------

function addNeed() {
  const item = byId("nearest-item").value.trim();
  const quantity = byId("nearest-quantity").value.trim();
  if (!item || !quantity) {
    announce(t("map.need_missing"), "error");
    (item ? byId("nearest-quantity") : byId("nearest-item")).focus();
    return;
  }
  const known = state.items.get(item) || (state.answer?.item?.code === item ? state.answer.item : null);
  const existing = state.needs.find((need) => need.item === item);
  if (existing) existing.quantity = quantity;
  else state.needs.push({ item, quantity, name: known?.name || item, unit: known?.unit || "" });
  renderNeeds();
  announce(t("map.need_added", { item: known?.name || item, quantity }), "ok");
}

function renderNeeds() {
  const list = byId("plan-needs");
  updateCallupButton();
  if (!state.needs.length) {
    list.replaceChildren(el("li", { class: "hint", text: t("plan.empty") }));
    byId("plan-build").disabled = true;
    return;
  }
  byId("plan-build").disabled = false;
  list.replaceChildren(
    ...state.needs.map((need, index) =>
      el(
        "li",
        {},
        `${need.name} (${need.item}) · ${need.quantity} ${need.unit}`,
        el("button", {
          type: "button",
          class: "link",
          text: "✕",
          "aria-label": t("plan.remove", { item: need.name }),
          on: {
            click: () => {
              state.needs.splice(index, 1);
              renderNeeds();
              byId("nearest-item").focus();
            },
          },
        }),
      ),
    ),
  );
}

async function buildPlan(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const preference = [control(form, "prefer1").value, control(form, "prefer2").value].filter(
    (value, index, all) => value && all.indexOf(value) === index,
  );
  const body = {
    ...locationValues(),
    needs: state.needs.map((need) => ({ item: need.item, quantity: need.quantity })),
    reserve_type_preference: preference,
  };
  const radius = byId("nearest-radius").value.trim();
  if (radius) body.radius_km = radius;
  if (!body.county && !body.lat) {
    announce(t("map.need_location"), "error");
    byId("nearest-lat").focus();
    return;
  }
  const submit = byId("plan-build");
  const busy = {
    buttons: submit,
    settle: () => {
      submit.disabled = !state.needs.length;
    },
    onProblem: (error) => {
      const located = Object.keys(error.fields).some((field) => LOCATION_FIELDS.has(field));
      showFormErrors(located ? byId("nearest-form") : form, error);
    },
  };
  await runAction(busy, async () => {
    state.plan = (await request("/plans", { method: "POST", body })).data;
    state.planBody = body;
    state.raisedCode = null;
    clearFormErrors(form);
    renderPlan();
    drawPlan();
    updateCallupButton();
  });
}

function renderPlan() {
  const container = byId("plan-result");
  const plan = state.plan;
  if (!plan) {
    clear(container);
    return;
  }
  const needRows = plan.needs.map((need) =>
    el(
      "tr",
      { class: need.shortfall > 0 ? "short" : null },
      el("td", { text: `${need.item_name} (${need.item_code})` }),
      el("td", { class: "number", text: `${formatQuantity(need.requested)} ${need.unit}` }),
      el("td", { class: "number", text: formatQuantity(need.allocated) }),
      el("td", { class: "number", text: formatQuantity(need.shortfall) }),
    ),
  );
  const warehouses = plan.warehouses.map((allocation, index) => {
    const warehouse = allocation.warehouse;
    const rows = allocation.lines.map((line) =>
      el(
        "tr",
        {},
        el("td", { text: line.item_name }),
        el("td", { text: line.batch || "—" }),
        el("td", { class: "number", text: `${formatQuantity(line.quantity)} ${line.unit}` }),
        el("td", { text: line.expiry_date || "" }),
      ),
    );
    return el(
      "li",
      {},
      el("strong", { text: `P${index + 1} · ${warehouse.name} (${warehouse.code})` }),
      el(
        "p",
        { class: "meta" },
        `${t("map.km", { km: formatQuantity(allocation.distance_km) })} · ${label(ctx.labels.reserve_types[warehouse.reserve_type])} · ${warehouse.contact_person || ""} `,
        warehouse.contact_phone
          ? el("a", { href: `tel:${warehouse.contact_phone.replace(/[^\d+]/g, "")}`, text: warehouse.contact_phone })
          : null,
      ),
      table(
        warehouse.name,
        [t("plan.col.item"), t("plan.col.batch"), t("plan.col.take"), t("stock.col.expiry")],
        rows,
      ),
    );
  });
  container.replaceChildren(
    el("p", {}, el("span", { class: plan.covered ? "badge ok" : "badge expired", text: t(plan.covered ? "plan.covered" : "plan.not_covered") })),
    table(
      t("plan.heading"),
      ["item", "requested", "allocated", "shortfall"].map((key) => t(`plan.col.${key}`)),
      needRows,
      "plan-needs",
    ),
    el("ul", { class: "plan-warehouses" }, warehouses),
  );
}

function drawPlan() {
  if (!map) return;
  const plan = state.plan;
  layers.plan.clearLayers();
  const center = [plan.incident.latitude, plan.incident.longitude];
  drawIncident(center, plan.incident.county_name);
  drawRings(center, plan.radius_km);
  const bounds = L.latLngBounds([center]);
  plan.warehouses.forEach((allocation, index) => {
    const warehouse = allocation.warehouse;
    const latlng = [warehouse.latitude, warehouse.longitude];
    const marker = L.circleMarker(latlng, { radius: 11, className: "plan-marker", weight: 3, fillOpacity: 0.9 });
    marker.bindTooltip(el("span", { text: `P${index + 1}` }), {
      permanent: true,
      direction: "center",
      className: "rank-label",
    });
    marker.bindPopup(
      el(
        "div",
        { class: "popup" },
        el("strong", { text: `P${index + 1}. ${warehouse.name}` }),
        el("br"),
        t("map.km", { km: formatQuantity(allocation.distance_km) }),
      ),
    );
    layers.plan.addLayer(marker);
    bounds.extend(latlng);
  });
  map.fitBounds(bounds.pad(0.15), { maxZoom: 10 });
}

// --- call-ups ------------------------------------------------------------------------------------

function needsKey(needs) {
  return JSON.stringify(needs.map((need) => [need.item, String(need.quantity)]));
}

/**
 * "Raise call-up" works on the plan shown, for the roles that may raise one; once the needs
 * change the plan no longer says what would be reserved, so it must be built again.
 */
function updateCallupButton() {
  const button = byId("callup");
  const note = byId("callup-note");
  const allowed = canRaise(ctx?.user);
  const current = Boolean(state.plan && state.planBody && needsKey(state.planBody.needs) === needsKey(state.needs));
  button.disabled = !allowed || !current;
  let key = "plan.callup_note";
  if (!allowed) key = "plan.callup_roles";
  else if (state.plan && state.raisedCode && !state.planBody) key = "plan.callup_done";
  else if (state.plan && !current) key = "plan.callup_stale";
  // Static text otherwise: applyTranslations() must not put back a placeholder on language change.
  if (key === "plan.callup_done") delete note.dataset.i18n;
  else note.dataset.i18n = key;
  note.textContent = t(key, { code: state.raisedCode });
  if (button.disabled && !byId("callup-raise").hidden) closeRaise();
}

/** The plan has been raised as a call-up: its stock is reserved now, so it cannot be raised twice. */
function planUsed(order) {
  state.planBody = null;
  state.raisedCode = order.code;
  updateCallupButton();
}

/** The order's source warehouses as markers C1, C2…; `fit` moves the map to the order. */
async function drawCallup(order, fit) {
  if (!map) return;
  const codes = [...new Set(order.lines.map((line) => line.warehouse_code))];
  const missing = codes.filter((code) => !sourceWarehouses.has(code));
  const found = await Promise.all(missing.map((code) => get(`/warehouses/${encodeURIComponent(code)}`)));
  for (const warehouse of found) sourceWarehouses.set(warehouse.code, warehouse);
  layers.callup.clearLayers();
  if (fit) {
    for (const name of ["results", "plan", "rings"]) layers[name].clearLayers();
    markers.length = 0;
  }
  const center = [order.latitude, order.longitude];
  drawIncident(center, order.incident_name);
  const bounds = L.latLngBounds([center]);
  codes.forEach((code, index) => {
    const warehouse = sourceWarehouses.get(code);
    const lines = order.lines.filter((line) => line.warehouse_code === code);
    const active = lines.some((line) => line.status === "reserved" || line.status === "dispatched");
    const latlng = [warehouse.latitude, warehouse.longitude];
    const marker = L.circleMarker(latlng, {
      radius: 11,
      className: active ? "callup-marker" : "callup-marker inactive",
      weight: 3,
      fillOpacity: 0.9,
    });
    marker.bindTooltip(el("span", { text: `C${index + 1}` }), {
      permanent: true,
      direction: "center",
      className: "rank-label",
    });
    marker.bindPopup(
      el(
        "div",
        { class: "popup" },
        el("strong", { text: `C${index + 1}. ${warehouse.name}` }),
        lines.flatMap((line) => [
          el("br"),
          [line.item_code, line.batch || "—", formatQuantity(line.quantity), t(`callup.line.${line.status}`)].join(" · "),
        ]),
        warehouse.contact_phone ? [el("br"), `${t("map.call")}: ${warehouse.contact_phone}`] : null,
      ),
    );
    layers.callup.addLayer(marker);
    bounds.extend(latlng);
  });
  if (fit) map.fitBounds(bounds.pad(0.15), { maxZoom: 10 });
}
