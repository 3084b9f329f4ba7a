// The map's background: the configured tile server when it answers, else the country drawn from our own
// data (GET /page/base-map: every county-level place as a faint point, province and city names at their
// centres). A tile server that fails is noticed by its errors; one that hangs (a government network
// that silently drops the request) by a timeout: neither leaves a blank grey square.
// Also the label declutter: permanent labels never cover each other (declutter()).

import { get } from "./api.js";
import { el } from "./dom.js";

/** How long the first tile may take before the server counts as unreachable. */
export const TILE_TIMEOUT_MS = 3000;
const TILE_ERRORS_BEFORE_OFFLINE = 4;
const CITY_LABELS_FROM_ZOOM = 6;

let baseData = null; // the base map, fetched once per page (the server caches it for a day too)

function escapeHtml(text) {
  // Leaflet writes attributions as HTML: the configured credit is shown as plain text.
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Put the configured tiles under `map`, or our own base layer when they cannot come. `onOffline`
 * is called once when the page falls back (to show the notice).
 */
export function startBackground(L, map, config, onOffline) {
  let offline = false;
  const fallBack = () => {
    if (offline) return;
    offline = true;
    onOffline();
    drawBaseLayer(L, map).catch(() => {}); // without it the markers, rings and scale still draw
  };
  if (!config.tile_url) {
    fallBack();
    return;
  }
  // One tile first, with a deadline: a refused request fails at once, a hanging one never settles.
  const probe = new Image();
  const deadline = window.setTimeout(() => {
    probe.src = ""; // stop waiting for it
    fallBack();
  }, TILE_TIMEOUT_MS);
  probe.addEventListener("load", () => {
    window.clearTimeout(deadline);
    if (!offline) addTiles(L, map, config, fallBack);
  });
  probe.addEventListener("error", () => {
    window.clearTimeout(deadline);
    fallBack();
  });
  probe.src = L.Util.template(config.tile_url, { s: "a", r: "", x: 0, y: 0, z: 0 });
}

function addTiles(L, map, config, fallBack) {
  const tiles = L.tileLayer(config.tile_url, { attribution: escapeHtml(config.tile_attribution || ""), maxZoom: 18 });
  let loaded = 0;
  let failed = 0;
  const giveUp = () => {
    if (map.hasLayer(tiles)) map.removeLayer(tiles); // the tile server went away: stop asking
    fallBack();
  };
  // The probe came, but the server may still stall on the tiles that matter.
  const deadline = window.setTimeout(() => {
    if (!loaded) giveUp();
  }, TILE_TIMEOUT_MS);
  tiles.on("tileload", () => {
    loaded += 1;
    window.clearTimeout(deadline);
  });
  tiles.on("tileerror", (event) => {
    failed += 1;
    event.tile.style.visibility = "hidden"; // no broken-image boxes over the markers
    if (!loaded && failed >= TILE_ERRORS_BEFORE_OFFLINE) giveUp();
  });
  tiles.addTo(map);
}

/** Our own base layer: points on a canvas (thousands, cheap), names as labels under every marker. */
async function drawBaseLayer(L, map) {
  baseData ||= await get("/page/base-map");
  if (!map.getPane("base")) {
    map.createPane("base").style.zIndex = 250; // above where tiles would be, below rings and markers
  }
  const renderer = L.canvas({ pane: "base", padding: 0.2 });
  const points = L.layerGroup(
    baseData.places.map(([lat, lon]) =>
      L.circleMarker([lat, lon], {
        renderer,
        radius: 1.5,
        stroke: false,
        fillColor: "#6b7784",
        fillOpacity: 0.55,
        interactive: false,
      }),
    ),
  );
  const nameLabel = ([name, lat, lon], kind) =>
    L.marker([lat, lon], {
      pane: "base",
      interactive: false,
      keyboard: false,
      icon: L.divIcon({ className: `base-label ${kind}`, html: el("span", { text: name }), iconSize: null }),
    });
  const provinces = L.layerGroup(baseData.provinces.map((row) => nameLabel(row, "province")));
  const cities = L.layerGroup(baseData.cities.map((row) => nameLabel(row, "city")));
  points.addTo(map);
  provinces.addTo(map);
  map.getContainer().classList.add("base-map");
  const showCities = () => {
    if (map.getZoom() >= CITY_LABELS_FROM_ZOOM) cities.addTo(map);
    else cities.remove();
    declutter(map);
  };
  map.on("zoomend", showCities);
  showCities();
}

// --- labels that never cover each other ---------------------------------------------------------

/** Permanent labels, most important first: the first of two overlapping labels stays. */
const LABEL_PRIORITY = [
  ".leaflet-tooltip.incident-label",
  ".leaflet-tooltip.rank-label.plan",
  ".leaflet-tooltip.rank-label.callup",
  ".leaflet-tooltip.rank-label",
  ".leaflet-tooltip.ring-label",
  ".base-label.province",
  ".base-label.city",
];

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/**
 * Hide every permanent label that would cover a more important one (an incident's name over result
 * 4, "1" under "P1", a ring's distance over a number). A hidden label's marker keeps its popup.
 */
export function declutter(map) {
  if (!map) return;
  const container = map.getContainer();
  const placed = [];
  const seen = new Set();
  for (const selector of LABEL_PRIORITY) {
    for (const node of container.querySelectorAll(selector)) {
      if (seen.has(node)) continue;
      seen.add(node);
      node.classList.remove("decluttered");
      const box = node.getBoundingClientRect();
      if (!box.width || !box.height) continue;
      if (placed.some((other) => overlaps(box, other))) node.classList.add("decluttered");
      else placed.push(box);
    }
  }
}
