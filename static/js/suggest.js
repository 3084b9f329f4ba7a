// Suggestions the way people type: items by code, name, alias, variant spelling, pinyin initials or a
// similar name (GET /item-suggestions: 活性碳 and hxt both offer 活性炭), counties with their city and
// province (鼓楼区 ×4 told apart). And the checks a need passes before it joins a plan.

import { get } from "./api.js";
import { el } from "./dom.js";

const QUANTITY = /^\d+(\.\d{1,3})?$/;

/** Fill `datalist` with the items `text` may mean; returns them ({code, name, unit, how, via}). */
export async function suggestItems(text, datalist) {
  const typed = text.trim();
  if (!typed) return [];
  const items = await get("/item-suggestions", { q: typed, limit: 10 });
  datalist.replaceChildren(
    ...items.map((item) =>
      el("option", {
        value: item.code,
        // "活性炭 · 吨 (活性碳)": the name it was taken for, when the typed text was not that name
        text: `${item.name} · ${item.unit}${item.how !== "exact" && item.how !== "contains" ? ` ← ${typed}` : ""}`,
      }),
    ),
  );
  return items;
}

/** The one item `text` names exactly (code, name or alias), or null with the best guesses. */
export async function checkItem(text) {
  const typed = text.trim();
  if (!typed) return { item: null, guesses: [] };
  const items = await get("/item-suggestions", { q: typed, limit: 3 });
  const exact = items.filter((item) => item.how === "exact");
  return exact.length === 1 ? { item: exact[0], guesses: [] } : { item: null, guesses: items };
}

/** "" when `text` is a quantity a need may ask for, else the message key saying why not. */
export function quantityProblem(text) {
  const typed = text.trim();
  if (!typed) return "check.quantity_missing";
  if (!QUANTITY.test(typed)) return typed.startsWith("-") ? "check.quantity_positive" : "check.quantity_number";
  if (Number(typed) <= 0) return "check.quantity_positive";
  return "";
}

/** The name shown for a region: 鼓楼区 · 南京市 · 江苏省. */
export function regionLabel(region) {
  return [region.name, region.city_name, region.province_name].filter(Boolean).join(" · ");
}

/** Fill `datalist` with counties (and cities without counties) named like `text`; remember them in `known`. */
export async function suggestCounties(text, datalist, known) {
  const typed = text.trim();
  if (!typed || /^\d{6}$/.test(typed)) return;
  const regions = await get("/regions", { level: "county", name: typed, page_size: 15 });
  for (const region of regions) known.set(region.code, region);
  datalist.replaceChildren(...regions.map((region) => el("option", { value: region.code, text: regionLabel(region) })));
}
