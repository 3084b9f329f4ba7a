// The plan on screen: its tables, and the keys that say whether it still answers the form (the same
// needs; the same place, radius and reserve types) before it may be raised as a call-up.

import { clear, el, formatQuantity, table } from "./dom.js";
import { label, t } from "./i18n.js";

export function needsKey(needs) {
  return JSON.stringify(needs.map((need) => [need.item, String(need.quantity)]));
}

/** Where and how far the plan on screen was built for, against what the form says now. */
export function questionKey(body) {
  const where = body.county ? [body.county] : [body.lat || "", body.lon || ""];
  return JSON.stringify([...where, body.radius_km || "", [...(body.reserve_types || [])].sort()]);
}

/** The plan as tables: needs against what is allocated, then each warehouse (P1, P2…) with its batches. */
export function renderPlanInto(container, plan, reserveTypeLabels) {
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
        `${t("map.km", { km: formatQuantity(allocation.distance_km) })} · ${label(reserveTypeLabels[warehouse.reserve_type])} · ${warehouse.contact_person || ""} `,
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
