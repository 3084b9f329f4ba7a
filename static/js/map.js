// Nearest stock on a map: pick the incident (click, coordinates or county), an item or category
// and a quantity; see the nearest warehouses as a list and as markers with distance rings; build
// a plan covering several needs, and raise it as a call-up (callups.js), whose source warehouses
// are marked on the map. Leaflet is loaded on first use; tiles come from the server's
// configuration and the page keeps working without them (markers, rings, labels, scale).
// The coverage-gap layer and its controls are readiness.js's, drawn on this map.

import { ApiError, get, request } from "./api.js";
import { declutter, startBackground } from "./basemap.js";
import { announce, clear, clearFormErrors, control, debounce, el, formatQuantity, quietly, runAction, showFormErrors } from "./dom.js";
import {
  canRaise,
  closeRaise,
  initResponder,
  lineStatusLabel,
  openRaise,
  refreshShownOrder,
  resetResponder,
  showResponder,
} from "./callups.js";
import { label, labelled, onLanguageChange, t } from "./i18n.js";
import { dropDraft, loadDraft, saveDraft } from "./plandraft.js";
import { initCoverage, resetCoverage } from "./readiness.js";
import { needsKey, questionKey, renderPlanInto } from "./planview.js";
import { answeredQuestion, popupFor, renderResults as fillResults } from "./results.js";
import { checkItem, quantityProblem, suggestCounties as fillCounties, suggestItems as fillItems } from "./suggest.js";
import { showNeedProblem } from "./needcheck.js";

const LEAFLET = "/static/vendor/leaflet-1.9.4/";
const CHINA = { center: [35.0, 105.0], zoom: 4 };
const RING_STEPS_KM = [5, 10, 20, 50, 100, 200, 300, 500, 1000, 2000, 3000];
const RESULT_LIMIT = 20;
// An answer on screen is asked again every minute while the map view is shown, and when the tab is shown
// again: stock issued, counted or dispatched elsewhere must not go on looking available to a responder.
const ANSWER_REFRESH_MS = 60_000;
const LOCATION_FIELDS = new Set(["lat", "lon", "county"]);

let ctx = null;
let wired = false;
let L = null;
let map = null;
let zoomControl = null;
let layers = null;
// planBody: the request that produced the plan shown, which "Raise call-up" posts as it is.
const state = {
  answer: null,
  askedAt: null,
  // The question last sent by the form while the form still asks it, answered or not: `answer`, when there is one,
  // answers it (a change to the form clears both; a new search clears the answer until it comes), and it is what
  // refreshAnswer asks again and what a login that ended by itself keeps for the same user's next login.
  asked: null,
  refreshing: false,
  plan: null,
  planBody: null,
  raisedCode: null,
  answerDrawn: false, // the answer's markers are on the map (a call-up drawn in its place clears them)
  needs: [],
  regions: new Map(),
  items: new Map(),
};
const sourceWarehouses = new Map(); // code → warehouse, for the call-up's markers
// The question asked when the login ended by itself ({username, query}): asked again at that user's next login
// here, so a responder whose session expired at 3 a.m. logs in and sees the answer, not an empty form.
let resumable = null;

/** What a new login, or a logout, starts the view from: no answer, no plan, no needs. */
function blankQuestion() {
  return { answer: null, asked: null, plan: null, planBody: null, raisedCode: null, answerDrawn: false, needs: [] };
}

function byId(id) {
  return document.getElementById(id);
}

export async function init(context) {
  ctx = context;
  Object.assign(state, blankQuestion());
  if (!wired) {
    wire();
    wired = true;
  }
  initResponder(ctx, { onRaised: planUsed, showSources: drawCallup });
  fillChoices();
  restoreDraft();
  const resumed = resumable?.username === ctx.user?.username ? resumable.query : null;
  resumable = null;
  if (resumed) fillQuestion(resumed);
  renderResults();
  renderNeeds();
  renderPlan();
  L = await loadLeaflet();
  if (!map) createMap();
  else clearLayers();
  await placeDraftLocation();
  await initCoverage(ctx, L, map);
  if (resumed) byId("nearest-form").requestSubmit();
}

/** Back on this tab with the session still this user's (app.js asks that first): ask the answer again, and the
 * open call-up (a line dispatched or declined meanwhile). */
export function shownAgain() {
  refreshShown();
  if (!byId("view-map").hidden) refreshShownOrder();
}

export async function show() {
  // The map's container had no size while hidden: let Leaflet measure it again.
  map?.invalidateSize();
  await showResponder();
}

/** `resumeFor`: the login ended by itself (app.js): the question asked is kept for that user's next login. */
export function reset(resumeFor = null) {
  resumable = resumeFor && state.asked ? { username: resumeFor, query: state.asked } : null;
  Object.assign(state, blankQuestion());
  byId("nearest-form").reset();
  byId("plan-form").reset(); // the next account starts from its own draft, not this one's preferences
  resetResponder();
  clearLayers();
  if (map) resetCoverage();
}

function wire() {
  byId("nearest-form").addEventListener("submit", search);
  // A list on screen answers the question asked, never a changed one: any change to it clears the
  // answer, and a plan built for another place cannot be raised.
  byId("nearest-form").addEventListener("input", questionChanged);
  byId("nearest-form").addEventListener("change", questionChanged);
  byId("plan-form").addEventListener("change", keepDraft);
  byId("nearest-quantity").addEventListener("input", debounce(checkQuantityField, 150));
  byId("nearest-item").addEventListener("change", checkItemField);
  byId("add-need").addEventListener("click", addNeed);
  byId("plan-form").addEventListener("submit", buildPlan);
  byId("callup").addEventListener("click", () => openRaise(state.planBody));
  byId("nearest-county").addEventListener("input", debounce(() => fillCounties(byId("nearest-county").value, byId("county-options"), state.regions)));
  byId("nearest-county").addEventListener("change", placeCounty);
  byId("nearest-item").addEventListener("input", debounce(suggestItems));
  window.setInterval(refreshShown, ANSWER_REFRESH_MS);
  for (const id of ["nearest-lat", "nearest-lon"]) byId(id).addEventListener("change", placeTypedPoint);
  onLanguageChange(() => {
    if (!ctx?.user) return;
    if (map) addZoomControl();
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
    script.addEventListener("load", () => {
      // Said outright: without its stylesheet (not come, or failed) Leaflet guesses its marker images' folder
      // from the stylesheet's link and drops the slash (…/leaflet-1.9.4marker-icon.png: 404, the incident's
      // pin a broken image for the whole visit).
      window.L.Icon.Default.imagePath = `${LEAFLET}images/`;
      resolve(window.L);
    });
    script.addEventListener("error", () => reject(new Error("the map library did not load")));
    document.head.append(script);
  });
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
    zoomControl: false, // Leaflet's own says "Zoom in" in English: addZoomControl labels it
  });
  addZoomControl();
  // Leaflet's default credit links to its website with an English title: its name alone, as text.
  map.attributionControl.setPrefix("Leaflet");
  L.control.scale({ imperial: false }).addTo(map);
  // The incident's pin sits under the warehouse markers: it never hides a result at the same place.
  map.createPane("incident").style.zIndex = 390;
  // A call-up's sources sit over the answer's and the plan's markers (overlay pane: 400), whichever was drawn
  // last: the answer asked again after a raise drew its markers over C1 at the same warehouse.
  map.createPane("callup").style.zIndex = 450;
  map.on("moveend", () => declutter(map));
  layers = {
    rings: L.layerGroup().addTo(map),
    results: L.layerGroup().addTo(map),
    plan: L.layerGroup().addTo(map),
    callup: L.layerGroup().addTo(map),
    incident: L.layerGroup().addTo(map),
  };
  startBackground(L, map, ctx.config || {}, () => {
    byId("tiles-offline").hidden = false;
  });
  map.on("click", (event) => {
    const { lat, lng } = event.latlng.wrap();
    byId("nearest-lat").value = lat.toFixed(5);
    byId("nearest-lon").value = lng.toFixed(5);
    byId("nearest-county").value = "";
    drawIncident([lat, lng], null);
    questionChanged();
  });
}

/** The zoom buttons, titled (tooltip and screen reader) in the page's language. */
function addZoomControl() {
  zoomControl?.remove();
  zoomControl = L.control.zoom({ zoomInTitle: t("map.zoom_in"), zoomOutTitle: t("map.zoom_out") }).addTo(map);
}

function clearLayers() {
  if (!layers) return;
  for (const layer of Object.values(layers)) layer.clearLayers();
}

function drawIncident(latlng, name) {
  layers.incident.clearLayers();
  const marker = L.marker(latlng, { title: t("map.incident"), keyboard: false, pane: "incident" });
  marker.bindTooltip(el("span", { text: name ? `${t("map.incident")} · ${name}` : t("map.incident") }), {
    permanent: true,
    direction: "top",
    offset: [0, -36],
    className: "incident-label",
  });
  layers.incident.addLayer(marker);
  declutter(map);
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

async function placeCounty() {
  const value = byId("nearest-county").value.trim();
  if (!value) return;
  byId("nearest-lat").value = "";
  byId("nearest-lon").value = "";
  if (/^\d{6}$/.test(value) && !state.regions.has(value)) {
    try {
      state.regions.set(value, await get(`/regions/${value}`));
    } catch {
      // not a region code: the search says so next to the field
    }
  }
  const region = state.regions.get(value);
  if (!map || byId("nearest-county").value.trim() !== value) return;
  if (!region) {
    layers.incident.clearLayers(); // never a pin at the last place while the form names another
    return;
  }
  drawIncident([region.latitude, region.longitude], `${region.name}${region.city_name ? ` · ${region.city_name}` : ""}`);
  map.setView([region.latitude, region.longitude], Math.max(map.getZoom(), 7));
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
  for (const item of await fillItems(byId("nearest-item").value, byId("item-options"))) state.items.set(item.code, item);
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
  forgetAnswer(); // whatever this search gives, the last one's list no longer answers the question
  state.asked = query;
  byId("nearest-summary").textContent = t("results.searching");
  const answered = await runAction(busy, async () => {
    const answer = await request("/nearest", { query }).catch((error) => {
      // A refusal of a question no longer asked: its field errors and "search failed" would be about another form.
      // A 401 is not one: the login is over whatever was asked, and the page has said so.
      if (state.asked !== query && error instanceof ApiError && error.status !== 401) return null;
      throw error;
    });
    // The form changed, or asked again, while this was on its way: it answers a question no longer asked.
    if (state.asked !== query) return true;
    clearFormErrors(form);
    state.answer = answer.data;
    state.askedAt = new Date();
    renderResults();
    drawResults();
    return true;
  });
  if (!answered) byId("nearest-summary").textContent = t("results.failed");
}

/** What the map view shows asked again (``ANSWER_REFRESH_MS``, and `shownAgain`): the answer,
 * and the plan while it is the one *Raise call-up* would raise. Each is redrawn where it changed, else only
 * the answer's time moves on; nothing else moves under a finger (the map keeps its view). A failed re-ask
 * leaves the answer saying the time it was true, and the next minute asks again. */
async function refreshShown() {
  if (state.refreshing || document.visibilityState !== "visible" || byId("view-map").hidden) return;
  state.refreshing = true;
  try {
    await quietly(async () => {
      await refreshAnswer();
      await refreshPlan();
    });
  } finally {
    state.refreshing = false;
  }
}

async function refreshAnswer() {
  const query = state.asked;
  if (!state.answer || !query) return;
  const answer = (await request("/nearest", { query })).data;
  if (state.asked !== query || !state.answer) return; // the question changed, or was asked again, meanwhile
  const changed = JSON.stringify(answer) !== JSON.stringify(state.answer);
  state.answer = answer;
  state.askedAt = new Date();
  if (!changed) {
    renderSummary();
    return;
  }
  renderResults();
  if (state.answerDrawn) drawResults({ again: true }); // not back over a call-up drawn since it was asked
}

async function refreshPlan() {
  const body = state.planBody;
  if (!planIsCurrent().current) return; // no plan, raised, or built for another question: marked so
  const plan = (await request("/plans", { method: "POST", body })).data;
  if (state.planBody !== body || JSON.stringify(plan) === JSON.stringify(state.plan)) return;
  state.plan = plan;
  renderPlan();
  drawPlan({ again: true });
}

/** The question on the form changed: its last answer (list, markers, rings) is gone, not left standing. */
function questionChanged() {
  const waiting = state.asked && !state.answer; // a search on its way, whose answer will not be shown
  state.asked = null;
  keepDraft();
  updateCallupButton();
  if (!state.answer && !waiting) return;
  forgetAnswer();
  byId("nearest-summary").textContent = t("results.changed");
}

function forgetAnswer() {
  state.answer = null;
  renderResults();
  if (!layers) return;
  layers.results.clearLayers();
  layers.rings.clearLayers();
  markers.length = 0;
  state.answerDrawn = false;
}

function renderResults() {
  const list = byId("nearest-results");
  clear(list);
  renderSummary();
  if (state.answer) fillResults(list, state.answer, ctx.labels.reserve_types, focusResult);
}

/** The line above the list: what it answers, when it was asked, and how many warehouses it found. */
function renderSummary() {
  const summary = byId("nearest-summary");
  const answer = state.answer;
  if (!answer) {
    summary.textContent = "";
    return;
  }
  const radius = formatQuantity(answer.radius_km);
  const found = answer.results.length
    ? t("map.summary", { count: answer.results.length, radius })
    : t("map.summary_none", { radius });
  summary.replaceChildren(
    el("span", { class: "question", text: answeredQuestion(answer, state.askedAt, ctx.labels) }),
    el("br"),
    found,
  );
}

const markers = [];

/** The answer's markers; ``again``: the same question asked again, so the plan drawn and the map's view stay. */
function drawResults({ again = false } = {}) {
  if (!map) return;
  const answer = state.answer;
  layers.results.clearLayers();
  if (!again) layers.plan.clearLayers();
  markers.length = 0;
  state.answerDrawn = true;
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
    marker.bindPopup(popupFor(answer, result, index));
    layers.results.addLayer(marker);
    markers.push(marker);
  });
  if (!again) {
    const bounds = markers.length ? L.latLngBounds([center]) : ringBounds(center, answer.radius_km);
    for (const marker of markers) bounds.extend(marker.getLatLng());
    map.fitBounds(bounds.pad(0.15), { maxZoom: 10 });
  }
  declutter(map);
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
  // On a phone the map is off screen under the list: bring it into view, then the popup inside it.
  const box = map.getContainer().getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) {
    const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    map.getContainer().scrollIntoView({ block: "center", behavior: still ? "auto" : "smooth" });
  }
  map.setView(marker.getLatLng(), Math.max(map.getZoom(), 8));
  marker.openPopup();
}

// --- plans ---------------------------------------------------------------------------------------

async function addNeed() {
  const typed = byId("nearest-item").value.trim();
  const quantity = byId("nearest-quantity").value.trim();
  if (!typed || !quantity) {
    announce(t("map.need_missing"), "error");
    (typed ? byId("nearest-quantity") : byId("nearest-item")).focus();
    return;
  }
  // A plan only takes what it can build: a positive quantity of an item the catalogue knows.
  if (!checkQuantityField()) {
    byId("nearest-quantity").focus();
    return;
  }
  // An item just searched for is known already; anything else is asked of the catalogue first.
  const answered = state.answer?.item?.code === typed ? state.answer.item : null;
  const known = answered || (await checkItemField());
  if (!known) {
    byId("nearest-item").focus();
    return;
  }
  const existing = state.needs.find((need) => need.item === known.code);
  if (existing) existing.quantity = quantity;
  else state.needs.push({ item: known.code, quantity, name: known.name, unit: known.unit });
  renderNeeds();
  announce(t("map.need_added", { item: known.name, quantity }), "ok");
}

/** The quantity field says at once what is wrong with it (−5, "abc"); true when it is fine. */
function checkQuantityField() {
  const input = byId("nearest-quantity");
  const problem = input.value.trim() ? quantityProblem(input.value) : "";
  showNeedProblem(input, problem ? t(problem) : "");
  return !problem && Boolean(input.value.trim());
}

/** The item field, checked when left: the item it names, or null with the closest names offered. */
async function checkItemField() {
  const input = byId("nearest-item");
  if (!input.value.trim()) {
    showNeedProblem(input, "");
    return null;
  }
  const { item, guesses } = await checkItem(input.value);
  if (item) state.items.set(item.code, item);
  const offered = guesses.map((guess) => `${guess.name} (${guess.code})`).join("、");
  showNeedProblem(input, item ? "" : t(offered ? "check.item_guess" : "check.item_unknown", { names: offered }));
  return item;
}

function renderNeeds() {
  const list = byId("plan-needs");
  updateCallupButton();
  keepDraft();
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
    reserve_types: tickedReserveTypes(), // the plan draws on what the search was limited to
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
  renderPlanInto(byId("plan-result"), state.plan, ctx.labels.reserve_types);
}

/** The plan's markers; ``again``: the same plan asked again, so the map keeps its view. */
function drawPlan({ again = false } = {}) {
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
      className: "rank-label plan",
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
  if (!again) map.fitBounds(bounds.pad(0.15), { maxZoom: 10 });
  declutter(map);
}

// --- the draft: the plan being built survives a reload and a new login ------------------------

function keepDraft() {
  if (!ctx?.user) return;
  saveDraft(ctx.user.username, {
    lat: byId("nearest-lat").value.trim(),
    lon: byId("nearest-lon").value.trim(),
    county: byId("nearest-county").value.trim(),
    radius: byId("nearest-radius").value.trim(),
    prefer1: byId("plan-prefer1").value,
    prefer2: byId("plan-prefer2").value,
    reserveTypes: tickedReserveTypes(),
    needs: state.needs,
  });
}

/** The form asking `query` (a search's) again: the place, what, how much, how far and which stock. */
function fillQuestion(query) {
  const form = byId("nearest-form");
  for (const name of ["lat", "lon", "county", "item", "category", "quantity", "radius_km"]) {
    control(form, name).value = query[name] || "";
  }
  for (const box of form.querySelectorAll("input[name=reserve_types]")) box.checked = query.reserve_types.includes(box.value);
  control(form, "include_expired").checked = Boolean(query.include_expired);
}

function restoreDraft() {
  const draft = loadDraft(ctx.user?.username);
  if (!draft) return;
  for (const name of ["lat", "lon", "county", "radius"]) {
    if (draft[name]) byId(`nearest-${name}`).value = draft[name];
  }
  for (const name of ["prefer1", "prefer2"]) {
    const select = byId(`plan-${name}`);
    if ([...select.options].some((option) => option.value === draft[name])) select.value = draft[name];
  }
  for (const box of byId("nearest-types").querySelectorAll("input")) box.checked = draft.reserveTypes.includes(box.value);
  state.needs = draft.needs;
}

/** The draft's place on the map again: its point, or its county (looked up once). */
async function placeDraftLocation() {
  if (byId("nearest-county").value.trim()) await placeCounty();
  else placeTypedPoint();
}

// --- call-ups ------------------------------------------------------------------------------------

function tickedReserveTypes() {
  return [...byId("nearest-types").querySelectorAll("input:checked")].map((box) => box.value);
}

function currentQuestionKey() {
  const radius = byId("nearest-radius").value.trim();
  return questionKey({ ...locationValues(), radius_km: radius, reserve_types: tickedReserveTypes() });
}

/** The plan shown was built for the needs and the question on the form now (and not raised yet). */
function planIsCurrent() {
  const sameNeeds = Boolean(state.planBody && needsKey(state.planBody.needs) === needsKey(state.needs));
  const samePlace = Boolean(state.planBody && questionKey(state.planBody) === currentQuestionKey());
  return { sameNeeds, current: Boolean(state.plan && sameNeeds && samePlace) };
}

/**
 * "Raise call-up" works on the plan shown, for the roles that may raise one; once the needs
 * change the plan no longer says what would be reserved, so it must be built again.
 */
function updateCallupButton() {
  const button = byId("callup");
  const note = byId("callup-note");
  const allowed = canRaise(ctx?.user);
  const { sameNeeds, current } = planIsCurrent();
  button.disabled = !allowed || !current;
  let key = "plan.callup_note";
  if (!allowed) key = "plan.callup_roles";
  else if (state.plan && state.raisedCode && !state.planBody) key = "plan.callup_done";
  else if (state.plan && !sameNeeds) key = "plan.callup_stale";
  else if (state.plan && !current) key = "plan.callup_moved";
  byId("plan-result").classList.toggle("stale", Boolean(state.plan && state.planBody && !current));
  // Static text otherwise: applyTranslations() must not put back a placeholder on language change.
  if (key === "plan.callup_done") delete note.dataset.i18n;
  else note.dataset.i18n = key;
  note.textContent = t(key, { code: state.raisedCode });
  if (button.disabled && !byId("callup-raise").hidden) closeRaise();
}

/** The plan has been raised as a call-up: its stock is reserved now, so it cannot be raised twice. */
function planUsed(order) {
  state.planBody = null;
  dropDraft(ctx.user?.username);
  state.raisedCode = order.code;
  updateCallupButton();
  // The answer on screen still counted as available what the call-up has just reserved: asked again now,
  // not a minute later.
  quietly(refreshAnswer);
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
    state.answerDrawn = false;
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
      pane: "callup",
      radius: 11,
      className: active ? "callup-marker" : "callup-marker inactive",
      weight: 3,
      fillOpacity: 0.9,
    });
    marker.bindTooltip(el("span", { text: `C${index + 1}` }), {
      permanent: true,
      direction: "center",
      className: "rank-label callup",
    });
    marker.bindPopup(
      el(
        "div",
        { class: "popup" },
        el("strong", { text: `C${index + 1}. ${warehouse.name}` }),
        lines.flatMap((line) => [
          el("br"),
          [line.item_code, line.batch || "—", formatQuantity(line.quantity), lineStatusLabel(line.status)].join(" · "),
        ]),
        warehouse.contact_phone ? [el("br"), labelled(t("map.call"), warehouse.contact_phone)] : null,
      ),
    );
    layers.callup.addLayer(marker);
    bounds.extend(latlng);
  });
  if (fit) map.fitBounds(bounds.pad(0.15), { maxZoom: 10 });
  declutter(map);
}
