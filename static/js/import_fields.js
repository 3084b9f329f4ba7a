// Field ledgers on the import page: map the columns an import did not know (or ignore them), save the
// mapping as a profile that later files with the same headers get by themselves, and the review list of
// an import (new warehouses, new items, guessed matches, unit variants, differing details) to confirm or
// correct — a correction moves the stock by ledger movements on the server.

import { get, post } from "./api.js";
import { el, runAction } from "./dom.js";
import { t } from "./i18n.js";

// The ledger fields a column can be mapped to (importers/columns.py), and "ignore".
const FIELDS = [
  "warehouse_code", "warehouse_name", "reserve_type", "level", "status", "organisation", "address",
  "province_name", "province_code", "city_name", "city_code", "county_name", "county_code",
  "latitude", "longitude", "contact_person", "contact_phone", "notes",
  "item_code", "item_name", "category", "specification", "unit", "quantity", "batch",
  "production_date", "expiry_date",
];
const REVIEW_KINDS = ["new_warehouse", "new_item", "fuzzy_match", "unit_variant", "detail_conflict"];

const chosen = new Map(); // header as written → field, or "ignore"
let profileName = "";

/** The mapping and profile to send with the next upload (form fields `map` and `profile`). */
export function mappingFormFields() {
  const fields = {};
  if (chosen.size) fields.map = JSON.stringify(Object.fromEntries(chosen));
  if (profileName) fields.profile = profileName;
  return fields;
}

export function resetMapping() {
  chosen.clear();
  profileName = "";
}

/** Selects for the report's unknown columns (closest field preselected), a profile name and save. */
export function mappingPanel(report, recheck) {
  const names = new Set((report.sheets || []).flatMap((sheet) => sheet.unknown_columns || []));
  const suggestions = new Map((report.warnings || []).filter((issue) => names.has(issue.column)).map((issue) => [issue.column, issue.suggestion]));
  const headers = [...names].map((column) => ({ column, suggestion: suggestions.get(column) }));
  if (!headers.length) return null;
  const rows = headers.map((issue) => {
    const select = el(
      "select",
      { "aria-label": t("fields.map_label", { header: issue.column }), "data-header": issue.column },
      el("option", { value: "", text: t("fields.unmapped") }),
      el("option", { value: "ignore", text: t("fields.ignore") }),
      FIELDS.map((name) => el("option", { value: name, text: name, selected: chosen.get(issue.column) === name })),
    );
    select.addEventListener("change", () => {
      if (select.value) chosen.set(issue.column, select.value);
      else chosen.delete(issue.column);
    });
    const hint = issue.suggestion ? t("fields.suggested", { field: issue.suggestion }) : "";
    return el("li", {}, el("span", { class: "code", text: issue.column }), " → ", select, hint ? el("span", { class: "hint", text: ` ${hint}` }) : null);
  });
  const name = el("input", { type: "text", maxlength: "64", value: profileName, "aria-label": t("fields.profile") });
  name.addEventListener("input", () => {
    profileName = name.value.trim();
  });
  const save = el("button", {
    type: "button",
    class: "secondary",
    text: t("fields.save_profile"),
    on: {
      click: () =>
        runAction({ buttons: [save] }, async () => {
          const signatures = (report.sheets || []).map((sheet) => sheet.signature).filter(Boolean);
          await post("/import-profiles", { name: profileName, mapping: Object.fromEntries(chosen), header_signatures: signatures });
        }),
    },
  });
  return el(
    "section",
    { class: "column-mapping" },
    el("h4", { text: t("fields.mapping") }),
    el("ul", {}, rows),
    el("label", {}, t("fields.profile"), " ", name),
    el("button", { type: "button", text: t("fields.recheck"), on: { click: recheck } }),
    save,
  );
}

/** The review list of an import, grouped by kind; each entry names its rows and can be confirmed or corrected. */
export async function reviewPanel(importId) {
  const base = `/imports/${importId}/review`;
  const grouped = await get(base);
  const container = el("section", { class: "import-review" }, el("h4", { text: t("fields.review") }));
  const render = (groups) => {
    const parts = REVIEW_KINDS.filter((kind) => groups[kind]?.length).map((kind) =>
      el(
        "details",
        { open: true },
        el("summary", { text: `${t(`fields.kind.${kind}`)} (${groups[kind].length})` }),
        el("ul", {}, groups[kind].map((entry) => reviewEntry(base, entry, async () => render(await get(base))))),
      ),
    );
    container.replaceChildren(el("h4", { text: t("fields.review") }), ...(parts.length ? parts : [el("p", { text: t("fields.nothing") })]));
  };
  render(grouped);
  return container;
}

function reviewEntry(base, entry, refresh) {
  const rows = entry.rows.map(([sheet, row]) => `${sheet}!${row}`).join(", ");
  const parts = [el("span", { class: "code", text: entry.subject }), ` ${entry.detail} `, el("span", { class: "hint", text: rows })];
  if (entry.status !== "open") {
    parts.push(el("span", { class: "badge ok", text: `${t(`fields.status.${entry.status}`)} ${entry.resolution}` }));
    return el("li", {}, parts);
  }
  const confirm = el("button", {
    type: "button",
    class: "secondary",
    text: t("fields.confirm"),
    on: { click: () => runAction({ buttons: [confirm] }, async () => { await post(`${base}/${entry.id}/confirm`); await refresh(); }) },
  });
  parts.push(confirm);
  if (["new_warehouse", "new_item", "fuzzy_match"].includes(entry.kind)) {
    const code = el("input", { type: "text", maxlength: "32", "aria-label": t("fields.correct_to"), placeholder: t("fields.correct_to") });
    const correct = el("button", {
      type: "button",
      text: t("fields.correct"),
      on: {
        click: () =>
          runAction({ buttons: [correct] }, async () => {
            await post(`${base}/${entry.id}/correct`, { code: code.value.trim() });
            await refresh();
          }),
      },
    });
    parts.push(code, correct);
  }
  return el("li", {}, parts);
}
