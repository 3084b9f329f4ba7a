"""`make test`'s runner repeats what failed at the end of its output, where a CI log is read from."""

from tests.passes import what_failed

PYTEST_OUTPUT = """\
....E....
==================================== ERRORS ====================================
_____________ ERROR at teardown of test_phone_layout[browsing0] ______________
    def browsing(browser, page_server, request):
>       assert not console.unexpected(), "console errors:\\n" + "\\n".join(console.unexpected())
E       AssertionError: console errors:
E         uncaught: TypeError: x is undefined
=========================== short test summary info ============================
ERROR tests/browser/test_login_and_layout.py::test_phone_layout[browsing0] - AssertionError: console errors:
=================== 38 passed, 1 error in 146.38s (0:02:26) ====================
"""


def test_a_failed_job_is_summed_up_by_its_verdicts_and_their_messages():
    assert what_failed(PYTEST_OUTPUT) == [
        "ERROR tests/browser/test_login_and_layout.py::test_phone_layout[browsing0] - AssertionError: console errors:",
        "E       AssertionError: console errors:",
        "E         uncaught: TypeError: x is undefined",
    ]


def test_a_job_that_failed_before_pytest_reported_shows_its_tail():
    output = "\n".join(f"line {number}" for number in range(100)) + "\nImportError: no module named x"
    shown = what_failed(output, limit=3)
    assert shown == ["line 98", "line 99", "ImportError: no module named x"]
    assert what_failed("") == ["no output"]
