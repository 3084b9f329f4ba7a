// Readiness reports on the page: the expiring / expired batches in the user's scope (stock view,
// GET /reports/expiring, the API clips it to the user's warehouses or province) and the coverage
// gaps as a map layer (map view, GET /reports/coverage): the counties with no usable stock of an
// item or category within a radius, as red circle markers, with a per-province summary. Each has
// its ".xlsx" download of the very same query.

import { apiUrl, get, request } from "./api.js";
import { announce, clearFormErrors, control, debounce, el, formatQuantity, pager, runAction, showFormErrors, table, whileBusy } from "./dom.js";
import { label, lang, onLanguageChange, referenceLabel, t } from "./i18n.js";
import { suggestItems } from "./suggest.js";

const EXPIRING_PAGE_SIZE = 20;
const EXPIRING_ROLES = new Set(["manager", "provincial", "admin"]);
const COVERAGE_PANE = "coverage";

let ctx = null;
let wired = false;

function byId(id) {
  return document.getElementById(id);
}

function onLanguage() {
  if (!ctx?.user) return;
  if (expiring.enabled) {
    updateExpiringLink();
    renderExpiring();
  }
  if (coverage.map) {
    fillCoverageChoices();
    renderCoverage();
    updateCoverageLink();
  }
}

function wireOnce() {
  if (wired) return;
  wired = true;
  onLanguageChange(onLanguage);
}

// --- expiring and expired batches (stock view) -----------------------------------------------

const expiring = { enabled: false, rows: [], pagination: null, page: 1, wired: false };

/** Show the panel to managers, provincial staff and administrators; the API scopes what they see. */
export function initExpiring(context) {
  ctx = context;
  wireOnce();
  Object.assign(expiring, { rows: [], pagination: null, page: 1 });
  expiring.enabled = EXPIRING_ROLES.has(ctx.user.role);
  byId("expiring-panel").hidden = !expiring.enabled;
  if (!expiring.wired) {
    expiring.wired = true;
    byId("expiring-days").addEventListener("change", () => loadExpiring(1));
    byId("expiring-refresh").addEventListener("click", () => loadExpiring(expiring.page));
  }
  byId("expiring-days").value = "30";
  updateExpiringLink();
  renderExpiring();
}

export function resetExpiring() {
  Object.assign(expiring, { enabled: false, rows: [], pagination: null, page: 1 });
  byId("expiring-panel").hidden = true;
  byId("expiring-list").replaceChildren();
  byId("expiring-summary").textContent = "";
}

function expiringQuery() {
  return { within_days: byId("expiring-days").value || "30" };
}

function updateExpiringLink() {
  byId("expiring-download").href = apiUrl("/reports/expiring.xlsx", { ...expiringQuery(), lang: lang() }).href;
}

export async function loadExpiring(page = 1) {
  if (!expiring.enabled) return;
  updateExpiringLink();
  await whileBusy({ region: byId("expiring-list") }, async () => {
    const answer = await request("/reports/expiring", {
      query: { ...expiringQuery(), page, page_size: EXPIRING_PAGE_SIZE },
    });
    expiring.rows = answer.data;
    expiring.pagination = answer.pagination;
    expiring.page = page;
  });
  renderExpiring();
}

/** After a change to stock on this page: the list again, on the page shown (or the last one left). */
export async function reloadExpiring() {
  await loadExpiring(expiring.page);
  const last = expiring.pagination?.total_pages || 1;
  if (!expiring.rows.length && expiring.page > last) await loadExpiring(last);
}

/** Days left in words: negative is expired (so many days ago), 0 expires today, else days to go. */
function daysLeftText(days) {
  if (days < 0) return t("expiring.expired_ago", { days: -days });
  if (days === 0) return t("expiring.today");
  return t("expiring.days_left", { days });
}

function scopeText() {
  const role = ctx.user.role;
  if (role === "manager") return t("expiring.scope_mine");
  if (role === "provincial") return t("expiring.scope_province", { code: ctx.user.province_code || "" });
  return t("expiring.scope_all");
}

function renderExpiring() {
  if (!expiring.enabled) return;
  const list = byId("expiring-list");
  const summary = byId("expiring-summary");
  const days = byId("expiring-days").value || "30";
  const total = expiring.pagination?.total ?? expiring.rows.length;
  summary.textContent = `${scopeText()} · ${t("expiring.summary", { total, days })}`;
  if (!expiring.rows.length) {
    list.replaceChildren(el("p", { class: "hint", text: t("expiring.none", { days }) }));
    return;
  }
  const rows = expiring.rows.map((line) => {
    const state = line.days_left < 0 ? "expired" : "expiring";
    return el(
      "tr",
      { class: state, dataset: { lineId: String(line.stock_line_id), daysLeft: String(line.days_left) } },
      el(
        "td",
        {},
        el("span", { class: `badge ${state}`, text: t(line.days_left < 0 ? "stock.expired" : "expiring.soon") }),
        el("span", { class: "days-left", text: daysLeftText(line.days_left) }),
      ),
      el("td", { text: line.expiry_date }),
      el("td", {}, el("span", { class: "name", text: line.warehouse_name }), el("span", { class: "code", text: line.warehouse_code })),
      el("td", {}, el("span", { class: "name", text: line.item_name }), el("span", { class: "code", text: line.item_code })),
      el("td", { text: line.batch || "—" }),
      el("td", { class: "number", text: `${formatQuantity(line.quantity)} ${line.unit}` }),
    );
  });
  const headers = ["days", "expiry", "warehouse", "item", "batch", "quantity"].map((key) => t(`expiring.col.${key}`));
  list.replaceChildren(
    table(t("expiring.heading"), headers, rows, "expiring-lines"),
    pager(expiring.pagination, (page) => loadExpiring(page)),
  );
}

// --- coverage gaps (map view) ----------------------------------------------------------------

const coverage = { map: null, L: null, layer: null, answer: null, query: null, provinces: [], items: new Map() };

/** Called by map.js once Leaflet and the map exist: the layer sits in its own pane, under the results. */
export async function initCoverage(context, leaflet, map) {
  ctx = context;
  wireOnce();
  if (!coverage.map) {
    coverage.L = leaflet;
    coverage.map = map;
    const pane = map.createPane(COVERAGE_PANE);
    pane.classList.add("coverage-pane");
    coverage.layer = leaflet.layerGroup().addTo(map);
    byId("coverage-form").addEventListener("submit", searchCoverage);
    byId("coverage-show").addEventListener("change", toggleLayer);
    byId("coverage-item").addEventListener("input", debounce(suggestCoverageItems));
  }
  resetCoverage();
  fillCoverageChoices();
  if (!coverage.provinces.length) {
    coverage.provinces = await get("/regions", { level: "province", page_size: 100 });
    fillCoverageChoices();
  }
}

export function resetCoverage() {
  coverage.answer = null;
  coverage.query = null;
  coverage.layer?.clearLayers();
  const form = byId("coverage-form");
  form.reset();
  clearFormErrors(form);
  byId("coverage-show").checked = true;
  byId("coverage-show").disabled = true;
  if (coverage.map && coverage.layer && !coverage.map.hasLayer(coverage.layer)) coverage.layer.addTo(coverage.map);
  renderCoverage();
  updateCoverageLink();
}

function fillCoverageChoices() {
  const category = byId("coverage-category");
  const chosenCategory = category.value;
  category.replaceChildren(
    el("option", { value: "", text: t("common.none") }),
    ...ctx.reference.categories.map((entry) => el("option", { value: entry.code, text: label(entry) })),
  );
  category.value = chosenCategory;
  const province = byId("coverage-province");
  const chosenProvince = province.value;
  province.replaceChildren(
    el("option", { value: "", text: t("coverage.all_provinces") }),
    ...coverage.provinces.map((region) => el("option", { value: region.code, text: region.name })),
  );
  province.value = chosenProvince;
}

function suggestCoverageItems() {
  return suggestItems(byId("coverage-item").value, byId("coverage-item-options"));
}

function updateCoverageLink() {
  const link = byId("coverage-download");
  if (!coverage.query) {
    link.hidden = true;
    link.removeAttribute("href");
    return;
  }
  link.href = apiUrl("/reports/coverage.xlsx", { ...coverage.query, lang: lang() }).href;
  link.hidden = false;
}

async function searchCoverage(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const value = (name) => control(form, name).value.trim();
  const query = {
    item: value("item"),
    category: value("category"),
    radius_km: value("radius_km"),
    province: value("province"),
  };
  for (const key of Object.keys(query)) if (!query[key]) delete query[key];
  byId("coverage-summary").textContent = t("coverage.busy");
  const busy = {
    buttons: form.querySelector("button[type=submit]"),
    region: byId("coverage-result"),
    onProblem: (error) => {
      showFormErrors(form, error);
      forgetCoverage();
    },
  };
  await runAction(busy, async () => {
    const answer = await request("/reports/coverage", { query });
    clearFormErrors(form);
    coverage.answer = answer.data;
    coverage.query = query;
    byId("coverage-show").disabled = false;
    byId("coverage-show").checked = true;
    renderCoverage();
    drawCoverage();
    updateCoverageLink();
  });
}

/** A query refused: the last answer (its table, its markers, its download) no longer answers the form, and without
 * its summary, cleared with the refusal, its table stood under the error saying nothing of what it answered. */
function forgetCoverage() {
  coverage.answer = null;
  coverage.query = null;
  coverage.layer?.clearLayers();
  byId("coverage-show").disabled = true;
  renderCoverage();
  updateCoverageLink();
}

function materialName(answer) {
  if (answer.item) return `${answer.item.name} (${answer.item.code})`;
  return referenceLabel(ctx.labels, "categories", answer.category) || "";
}

function nearestText(gap) {
  if (gap.nearest_km === null || gap.nearest_km === undefined) return t("coverage.none_in_country");
  return t("coverage.nearest", { km: formatQuantity(gap.nearest_km), warehouse: gap.nearest_warehouse_code || "" });
}

function renderCoverage() {
  const summary = byId("coverage-summary");
  const result = byId("coverage-result");
  const answer = coverage.answer;
  if (!answer) {
    summary.textContent = "";
    result.replaceChildren();
    return;
  }
  summary.textContent = t("coverage.summary", {
    material: materialName(answer),
    radius: formatQuantity(answer.radius_km),
    uncovered: formatQuantity(answer.counties_uncovered),
    total: formatQuantity(answer.counties_total),
    holders: formatQuantity(answer.holders),
  });
  const provinces = answer.provinces.filter((row) => row.counties_total > 0);
  const rows = provinces.map((row) =>
    el(
      "tr",
      { class: row.counties_uncovered > 0 ? "short" : null, dataset: { province: row.code } },
      el("td", { text: row.name }),
      el("td", { class: "number", text: formatQuantity(row.counties_total) }),
      el("td", { class: "number", text: formatQuantity(row.counties_uncovered) }),
    ),
  );
  const headers = ["province", "total", "uncovered"].map((key) => t(`coverage.col.${key}`));
  result.replaceChildren(table(t("coverage.provinces"), headers, rows, "coverage-provinces"));
}

function drawCoverage() {
  const { L, map, layer, answer } = coverage;
  layer.clearLayers();
  if (!map.hasLayer(layer)) layer.addTo(map);
  const points = [];
  for (const gap of answer.uncovered) {
    const latlng = [gap.latitude, gap.longitude];
    const marker = L.circleMarker(latlng, {
      pane: COVERAGE_PANE,
      radius: 5,
      className: gap.nearest_km === null ? "coverage-marker none" : "coverage-marker",
      weight: 1,
      fillOpacity: 0.8,
    });
    // Built when first shown: a national layer has thousands of markers.
    marker.bindTooltip(
      () =>
        el(
          "span",
          {},
          el("strong", { text: gap.name }),
          ` · ${gap.province_name}`,
          el("br"),
          nearestText(gap),
        ),
      { direction: "top", className: "coverage-label" },
    );
    layer.addLayer(marker);
    points.push(latlng);
  }
  if (points.length) map.fitBounds(L.latLngBounds(points).pad(0.1), { maxZoom: 8 });
}

function toggleLayer() {
  const { map, layer } = coverage;
  if (!map) return;
  if (byId("coverage-show").checked) layer.addTo(map);
  else map.removeLayer(layer);
  announce(t(byId("coverage-show").checked ? "coverage.shown" : "coverage.hidden"));
}
