// What holds a stock line's reserved quantity: the call-ups whose lines reserve it (GET /stock-lines/{id}
// gives `held_by`), opened from the stock table so "has 8.8 available" never comes as a surprise.

import { get } from "./api.js";
import { el, formatQuantity } from "./dom.js";
import { t } from "./i18n.js";

/** The table cell for a line's reserved quantity; when something is held, a disclosure naming the call-ups. */
export function reservedCell(line) {
  const reserved = Number(line.reserved || 0);
  const cell = el("td", { class: "number reserved", text: formatQuantity(reserved) });
  if (reserved <= 0) return cell;
  const list = el("ul", { class: "held-by" });
  const details = el("details", {}, el("summary", { text: t("stock.held_by") }), list);
  details.addEventListener("toggle", async () => {
    if (!details.open || list.childElementCount) return;
    list.setAttribute("aria-busy", "true");
    try {
      const detail = await get(`/stock-lines/${line.id}`);
      list.replaceChildren(
        ...detail.held_by.map((holding) =>
          el("li", { text: `${holding.callup_code} · ${holding.incident_name} · ${formatQuantity(holding.quantity)}` }),
        ),
      );
    } finally {
      list.removeAttribute("aria-busy");
    }
  });
  cell.append(details);
  return cell;
}
