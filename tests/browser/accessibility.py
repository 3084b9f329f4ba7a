"""axe-core in the browser tests, from the axe-playwright-python package (axe.min.js inside it): nothing
is fetched at test time. Every rule, every impact: a page state passes with 0 violations."""

from __future__ import annotations

from functools import cache
from importlib import resources

RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) =>
    `${v.impact} ${v.id}: ${v.help} — ` + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | "));
}"""


@cache
def axe_source() -> str:
    return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def axe_violations(page) -> list[str]:
    """The axe-core violations of the page as it is now (any impact), one line each."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source())  # evaluated by the driver, so the page's CSP does not apply
    return page.evaluate(RUN_AXE)


def assert_accessible(page, state: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core violations ({state}):\n" + "\n".join(violations)
