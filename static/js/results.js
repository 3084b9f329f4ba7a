// The nearest search's answer as a list and as popups, and the line that says what the list answers
// (item, place, radius, time), so a list on screen is never taken for the answer to another question.

import { el, formatQuantity } from "./dom.js";
import { label, labelled, locale, t } from "./i18n.js";

function unitOf(answer, result) {
  return answer?.item?.unit || result.lines[0]?.unit || "";
}

function phoneLink(phone) {
  return el("a", { href: `tel:${phone.replace(/[^\d+]/g, "")}`, text: phone });
}

/** "活性炭 near 海淀区 (39.96, 116.30), within 300 km, at 14:02:11". */
export function answeredQuestion(answer, askedAt, labels) {
  const what = answer.item ? `${answer.item.name} (${answer.item.code})` : label(labels.categories[answer.category]);
  const incident = answer.incident;
  const coordinates = `${incident.latitude.toFixed(4)}, ${incident.longitude.toFixed(4)}`;
  const place = incident.county_name ? `${incident.county_name} (${coordinates})` : coordinates;
  return t("results.question", {
    what,
    place,
    radius: formatQuantity(answer.radius_km),
    time: askedAt.toLocaleTimeString(locale(), { hour12: false }),
  });
}

/** Fill `list` with the answer's warehouses; `onPick(index)` shows one on the map. */
export function renderResults(list, answer, reserveTypeLabels, onPick) {
  list.replaceChildren(
    ...answer.results.map((result, index) => {
      const warehouse = result.warehouse;
      const unit = unitOf(answer, result);
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
      const known = (value) => value !== null && value !== undefined;
      return el(
        "li",
        { class: result.covers_quantity ? "result covers" : "result", dataset: { code: warehouse.code } },
        el(
          "button",
          { type: "button", class: "link result-title", on: { click: () => onPick(index) } },
          `${index + 1}. ${warehouse.name}`,
        ),
        el(
          "p",
          { class: "meta" },
          `${t("map.km", { km: formatQuantity(result.distance_km) })} · ${label(reserveTypeLabels[warehouse.reserve_type])} · ${warehouse.county_name} · ${warehouse.code}`,
        ),
        el(
          "p",
          {},
          known(result.total_available)
            ? t("map.available", { quantity: formatQuantity(result.total_available), unit })
            : "",
          result.covers_quantity ? el("span", { class: "badge ok", text: t("map.covers") }) : null,
          known(result.cumulative_available)
            ? el("span", {
                class: "meta",
                text: ` · ${t("map.cumulative", { quantity: formatQuantity(result.cumulative_available) })}`,
              })
            : null,
        ),
        warehouse.contact_phone
          ? el("p", { class: "meta" }, `${warehouse.contact_person || ""} `, phoneLink(warehouse.contact_phone))
          : null,
        details,
      );
    }),
  );
}

export function popupFor(answer, result, index) {
  const warehouse = result.warehouse;
  return el(
    "div",
    { class: "popup" },
    el("strong", { text: `${index + 1}. ${warehouse.name}` }),
    el("br"),
    `${t("map.km", { km: formatQuantity(result.distance_km) })} · ${warehouse.code}`,
    result.total_available !== null && result.total_available !== undefined
      ? [
          el("br"),
          t("map.available", { quantity: formatQuantity(result.total_available), unit: unitOf(answer, result) }),
        ]
      : null,
    warehouse.contact_phone ? [el("br"), labelled(t("map.call"), warehouse.contact_phone)] : null,
  );
}
