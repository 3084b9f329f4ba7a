// The plan being built survives a reload and an expired session: its place, needs and preferences are
// kept in this browser's localStorage, one draft per account (the next user of a shared machine sees
// their own, never another's). Nothing here is sent anywhere; raising the call-up drops the draft.

const PREFIX = "emi.plan-draft.";
const FIELDS = ["lat", "lon", "county", "radius", "prefer1", "prefer2"];

function key(username) {
  return `${PREFIX}${username}`;
}

/** The draft kept for `username`, or null (none, unreadable, or storage off). */
export function loadDraft(username) {
  if (!username) return null;
  try {
    const draft = JSON.parse(window.localStorage.getItem(key(username)) || "null");
    if (!draft || !Array.isArray(draft.needs)) return null;
    const clean = { needs: [], reserveTypes: [] };
    for (const name of FIELDS) clean[name] = typeof draft[name] === "string" ? draft[name] : "";
    for (const need of draft.needs) {
      if (need && typeof need.item === "string" && typeof need.quantity === "string") {
        clean.needs.push({
          item: need.item,
          quantity: need.quantity,
          name: String(need.name || need.item),
          unit: String(need.unit || ""),
        });
      }
    }
    if (Array.isArray(draft.reserveTypes)) clean.reserveTypes = draft.reserveTypes.filter((v) => typeof v === "string");
    return clean;
  } catch {
    return null;
  }
}

/** Keep `draft` ({lat, lon, county, radius, prefer1, prefer2, reserveTypes, needs}) for `username`. */
export function saveDraft(username, draft) {
  if (!username) return;
  try {
    const empty = !draft.needs.length && !draft.lat && !draft.lon && !draft.county;
    if (empty) window.localStorage.removeItem(key(username));
    else window.localStorage.setItem(key(username), JSON.stringify(draft));
  } catch {
    // storage full or off (private mode): the draft lasts as long as the page
  }
}

export function dropDraft(username) {
  try {
    window.localStorage.removeItem(key(username));
  } catch {
    // nothing kept
  }
}
