// Excel ledgers: check an upload (dry run) and read its problems as a table of sheet / row /
// column / message, import it once it is clean, download the template, the checked workbook with
// the problems marked, and a ledger for a province, city or county.

import { ApiError, get, request } from "./api.js";
import { announce, clear, clearFormErrors, control, debounce, el, formatDateTime, runAction, showFormErrors, table } from "./dom.js";
import { lang, onLanguageChange, t } from "./i18n.js";
import { mappingFormFields, mappingPanel, resetMapping, reviewPanel } from "./import_fields.js";

const SHOWN_ISSUES = 200;
const RECENT_IMPORTS = 5;

let ctx = null;
let wired = false;
const state = { report: null, checkedFile: null, regions: new Map(), recent: [] };

function byId(id) {
  return document.getElementById(id);
}

export async function init(context) {
  ctx = context;
  Object.assign(state, { report: null, checkedFile: null, recent: [] });
  if (!wired) {
    wire();
    wired = true;
  }
  updateTemplateLink();
  byId("import-commit").disabled = true;
  renderReport();
  await loadRecent();
}

export function reset() {
  Object.assign(state, { report: null, checkedFile: null, recent: [] });
  byId("import-form").reset();
  byId("export-form").reset();
  resetMapping();
  clear(byId("import-report"));
}

function wire() {
  byId("import-form").addEventListener("submit", (event) => {
    event.preventDefault();
    upload(true);
  });
  byId("import-commit").addEventListener("click", () => upload(false));
  byId("import-file").addEventListener("change", () => {
    // A new file must be checked before it can be imported.
    state.checkedFile = null;
    byId("import-commit").disabled = true;
  });
  byId("export-form").addEventListener("submit", exportLedger);
  byId("export-region").addEventListener("input", debounce(suggestRegions));
  onLanguageChange(() => {
    if (!ctx?.user) return;
    updateTemplateLink();
    renderReport();
  });
}

function updateTemplateLink() {
  byId("template-link").href = `/api/v1/imports/template.xlsx?lang=${lang()}`;
}

// --- import ------------------------------------------------------------------------------------

async function upload(dryRun) {
  const form = byId("import-form");
  const file = control(form, "file").files[0];
  clearFormErrors(form);
  if (!file) {
    showFormErrors(form, new ApiError(422, { title: t("ledgers.choose_file"), errors: { file: [t("ledgers.choose_file")] } }));
    return;
  }
  const data = new FormData();
  data.append("file", file, file.name);
  for (const [name, value] of Object.entries(mappingFormFields())) data.append(name, value);
  const busy = {
    buttons: form.querySelectorAll("button"),
    region: byId("import-report"),
    settle: () => {
      byId("import-commit").disabled = !state.checkedFile;
    },
    onProblem: (error) => {
      state.checkedFile = null;
      if (error.problem.report) {
        state.report = error.problem.report; // the file was read: its problems, row by row
      } else {
        state.report = null;
        showFormErrors(form, error);
      }
    },
  };
  await runAction(busy, async () => {
    const answer = await request("/imports", { method: "POST", form: data, query: { dry_run: dryRun ? "true" : "" } });
    state.report = answer.data;
    state.checkedFile = dryRun && state.report.errors_total === 0 ? file : null;
    if (!dryRun) await loadRecent();
  });
  renderReport();
  if (state.report) {
    const status = state.report.status;
    if (status === "imported") announce(t("ledgers.imported"), "ok");
    else if (!state.report.errors_total) announce(t("ledgers.clean"), "ok");
  }
}

function renderReport() {
  const container = byId("import-report");
  const report = state.report;
  if (!report) {
    // A file refused before it was read (not a workbook, no ledger header): the last file's report, left
    // under the new file's error, would read as this one's.
    clear(container);
    renderRecent();
    return;
  }
  const counts = Object.entries(report.counts || {})
    .filter(([, value]) => value)
    .map(([name, value]) => `${countLabel(name)} ${value}`)
    .join(" · ");
  const verdict = report.errors_total
    ? el("p", { class: "badge expired", text: t("ledgers.has_errors", { count: report.errors_total }) })
    : el("p", { class: "badge ok", text: report.status === "imported" ? t("ledgers.imported") : t("ledgers.clean") });
  const issues = [...(report.errors || []), ...(report.warnings || [])];
  // The value read, after the message: not when the message names it itself (an unknown warehouse's name), as the
  // server says (value_named); a short value merely found in the message's words ("1" in "第 12 行") is still shown.
  const quotedValue = (issue) => {
    if (issue.value === undefined || issue.value === null || issue.value_named) return null;
    const value = String(issue.value);
    return value ? el("span", { class: "code", text: value }) : null;
  };
  const rows = issues.slice(0, SHOWN_ISSUES).map((issue) =>
    el(
      "tr",
      { class: issue.severity === "error" ? "issue-error" : "issue-warning" },
      el("td", { text: issue.sheet || "" }),
      el("td", { class: "number", text: issue.row ?? "" }),
      el("td", { text: issue.column || issue.cell || "" }),
      el("td", { text: t(`ledgers.severity.${issue.severity}`) }),
      el("td", {}, issue.message, quotedValue(issue)),
    ),
  );
  const headers = ["sheet", "row", "column", "severity", "message"].map((key) => t(`ledgers.col.${key}`));
  const summary = [t("ledgers.rows", { rows: report.rows }), counts, report.reference].filter(Boolean).join(" · ");
  const parts = [
    el("h4", { text: `${t("ledgers.report")} · ${report.file_name}` }),
    verdict,
    el("p", { class: "meta", text: summary }),
  ];
  if (issues.length) parts.push(table(t("ledgers.report"), headers, rows, "issues"));
  if (report.errors_total && control(byId("import-form"), "file").files[0]) {
    parts.push(
      el("button", { type: "button", class: "secondary", text: t("ledgers.annotated"), on: { click: downloadAnnotated } }),
    );
  }
  if (issues.length > SHOWN_ISSUES) {
    parts.push(el("p", { class: "hint", text: t("ledgers.shown", { shown: SHOWN_ISSUES, total: issues.length }) }));
  }
  const mapping = mappingPanel(report, () => upload(true));
  if (mapping) parts.push(mapping);
  container.replaceChildren(...parts);
  if (report.status === "imported" && report.import_id) {
    reviewPanel(report.import_id).then((panel) => container.append(panel), () => {});
  }
  renderRecent();
}

/** "lines_unchanged" → its label; a count the page does not know yet shows its own name. */
function countLabel(name) {
  const key = `ledgers.count.${name}`;
  const text = t(key);
  return text === key ? name.replaceAll("_", " ") : text;
}

async function loadRecent() {
  try {
    state.recent = await get("/imports", { page_size: RECENT_IMPORTS });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    state.recent = [];
  }
  renderRecent();
}

function renderRecent() {
  const container = byId("import-report");
  container.querySelector(".recent-imports")?.remove();
  if (!state.recent.length) return;
  container.append(
    el(
      "details",
      { class: "recent-imports" },
      el("summary", { text: t("ledgers.recent", { count: state.recent.length }) }),
      el(
        "ul",
        {},
        state.recent.map((entry) =>
          el("li", { text: `${formatDateTime(entry.imported_at)} · ${entry.file_name} · ${entry.reference} · ${entry.actor}` }),
        ),
      ),
    ),
  );
}

// --- export -------------------------------------------------------------------------------------

async function suggestRegions() {
  const text = byId("export-region").value.trim();
  if (!text || /^\d{6}$/.test(text)) return;
  const regions = await get("/regions", { name: text, page_size: 15 });
  for (const region of regions) state.regions.set(region.code, region);
  byId("export-region-options").replaceChildren(
    ...regions.map((region) => el("option", { value: region.code, text: region.name })),
  );
}

/** The checked workbook back, with a column saying what is wrong in each row. */
async function downloadAnnotated() {
  const file = control(byId("import-form"), "file").files[0];
  if (!file) return;
  const data = new FormData();
  data.append("file", file, file.name);
  await runAction({}, async () => {
    const { response } = await request("/imports/report.xlsx", { method: "POST", form: data, raw: true });
    await saveDownload(response, "report.xlsx");
  });
}

/** Hand a file response to the browser as a download; the name comes from Content-Disposition. */
async function saveDownload(response, fallback) {
  const blob = await response.blob();
  const name = fileNameOf(response, fallback);
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  announce(t("ledgers.downloaded", { name }), "ok");
}

const LEVEL_ORDER = ["province", "city", "county"];

/**
 * A typed region name (北京市, 海淀区) to its code; where a province and its city share the name
 * (北京市), the wider one. A name that matches nothing or several is left for the API to refuse.
 */
async function regionCodeFor(name) {
  const matches = await get("/regions", { name, page_size: 15 });
  const exact = matches
    .filter((region) => region.name === name)
    .sort((a, b) => LEVEL_ORDER.indexOf(a.level) - LEVEL_ORDER.indexOf(b.level));
  const nested = exact.length > 1 && exact.slice(1).every((region) => region.parent_code === exact[0].code);
  const chosen = exact.length === 1 || nested ? exact[0] : matches.length === 1 ? matches[0] : null;
  return chosen ? chosen.code : name;
}

function fileNameOf(response, fallback) {
  const header = response.headers.get("Content-Disposition") || "";
  const encoded = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (encoded) return decodeURIComponent(encoded[1]);
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : fallback;
}

async function exportLedger(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearFormErrors(form);
  let region = control(form, "region").value.trim();
  if (region && !/^\d{6}$/.test(region)) region = await regionCodeFor(region);
  const onProblem = (error) => showFormErrors(form, error);
  await runAction({ buttons: form.querySelector("button[type=submit]"), onProblem }, async () => {
    const { response } = await request("/exports/ledger.xlsx", { query: { region, lang: lang() }, raw: true });
    await saveDownload(response, "ledger.xlsx");
  });
}
