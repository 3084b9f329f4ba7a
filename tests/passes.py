"""`make test`'s runner: the whole suite on SQLite and on PostgreSQL, as a few pytest jobs kept busy on two cores.

One pass per database (as before) left a core idle whenever one pass finished first, and the SQLite pass
carried the browser tests. So each database's suite is cut into jobs of a few minutes (the OpenAPI fuzz test,
the other API tests in two parts, the unit tests, the rest; on SQLite also the browser tests, which need one
database only: the page is the same whatever the database), and two job slots take the next job, longest first,
as soon as one is free (a job with ``Job.after`` waits for that job: the SQLite fuzz job sends the cases the
PostgreSQL one generated, see ``SHARED_CASES``). The
browser job runs beside the two slots from the start (``Job.apart``): it waits on chromium and its live server
most of its time (on main, 218 s of wall clock for 126 s of CPU, chromium's and gunicorn's included), so in a slot
it held a core it used half of while the other jobs queued. The jobs together run exactly the tests the two passes
ran; each job's output is printed whole when it ends, with its CPU seconds (and its PostgreSQL server's).

    python -m tests.passes            # what `make test` runs (after ruff)
    python -m tests.passes --slots 1  # one job after the other
    python -m tests.passes --only "SQLite: tests/unit"  # one job (--only again for more)
    python -m tests.passes --durations 40  # each job's 40 slowest setups, calls and teardowns
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"


@dataclass
class Job:
    name: str
    db: str
    paths: list[str]
    ignore: list[str] = field(default_factory=list)
    status: int | None = None
    seconds: float = 0.0
    cpu: float = 0.0  # user + system seconds of the job and the processes it waited for (gunicorn, chromium)
    server_cpu: float = 0.0  # its embedded PostgreSQL server's, which runs detached
    apart: bool = False  # runs beside the slots, from the start (see APART)
    after: str | None = None  # a job of this run that must end first (see SHARED_CASES)
    output: str = ""

    def command(self, basetemp: Path, durations: int = 15) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "pytest",
            "--db",
            self.db,
            f"--durations={durations}",
            "--basetemp",
            str(basetemp),
        ]
        command += [f"--ignore={path}" for path in self.ignore]
        return command + self.paths


def parts(folder: str, count: int, leave_out: set[str] = frozenset()) -> list[list[str]]:
    """The test files of ``folder`` (but ``leave_out``) in ``count`` parts of about equal size (bytes of test
    code), the largest file first into the smallest part. Two halves cut in file order put 155 tests in one and
    424 in the other; collecting to count the tests costs a pytest start-up of its own before any job can begin."""
    sizes = {str(path.relative_to(ROOT)): path.stat().st_size for path in (TESTS / folder).glob("test_*.py")}
    chosen: list[tuple[int, list[str]]] = [(0, []) for _ in range(count)]
    for name, size in sorted(sizes.items(), key=lambda item: (-item[1], item[0])):
        if name in leave_out:
            continue
        index = min(range(count), key=lambda i: chosen[i][0])
        chosen[index] = (chosen[index][0] + size, [*chosen[index][1], name])
    return [sorted(files) for _, files in chosen if files]


def jobs() -> list[Job]:
    """Jobs of a few minutes each, so that the last one to start ends close to the other slot's last."""
    folders = sorted(path.name for path in TESTS.iterdir() if path.is_dir() and (path / "__init__.py").exists())
    assert {"api", "browser", "unit"} <= set(folders), folders
    others = [f"tests/{name}" for name in folders if name not in ("api", "browser", "unit")]
    # Test files directly in tests/ (none today) run with the unit tests, so nothing is left out.
    unit = ["tests/unit", *sorted(f"tests/{path.name}" for path in TESTS.glob("test_*.py"))]
    # The test files whose cases the two databases share are jobs of their own (the SQLite one waits for the
    # PostgreSQL one, which generates them); the rest of tests/api, the largest folder, in two parts.
    shared = sorted(SHARED_CASES)
    groups = [(path, [path]) for path in shared]
    groups += [(f"tests/api, part {number}", files) for number, files in enumerate(parts("api", 2, set(shared)), 1)]
    groups += [("tests/unit", unit), (", ".join(others), others)]
    queue = [Job("SQLite: tests/browser", "sqlite", ["tests/browser"], apart=True)]
    for name, paths in groups:
        first = Job(f"PostgreSQL: {name}", "postgresql", paths)
        after = first.name if set(paths) <= SHARED_CASES else None
        queue += [first, Job(f"SQLite: {name}", "sqlite", paths, after=after)]
    # Longest first, so that the short jobs fill the end and neither slot waits long for the other's last job.
    return sorted(queue, key=lambda job: -EXPECTED_SECONDS.get(job.name, DEFAULT_EXPECTED_SECONDS))


# Each job's seconds in a whole run on 2 cores, beside the browser job (the fresh-clone run of b0e8f4c, 2026-11-30,
# with the fuzz test's share moved to its own jobs): only their order matters. A job not listed (a new folder)
# counts as a long one, so it starts early.
EXPECTED_SECONDS = {
    "PostgreSQL: tests/unit": 265,
    "SQLite: tests/browser": 260,
    "PostgreSQL: tests/importers, tests/operations": 240,
    "PostgreSQL: tests/api, part 1": 100,
    "PostgreSQL: tests/api, part 2": 95,
    "SQLite: tests/unit": 95,
    "PostgreSQL: tests/api/test_openapi_fuzz.py": 85,
    "SQLite: tests/importers, tests/operations": 65,
    "SQLite: tests/api, part 1": 65,
    "SQLite: tests/api, part 2": 60,
    "SQLite: tests/api/test_openapi_fuzz.py": 25,
}
DEFAULT_EXPECTED_SECONDS = 180

# Test files whose generated cases are the same on both databases: the PostgreSQL job generates them and keeps
# them in the run's shared directory (``SHARED_ENVIRONMENT``), and the SQLite job, started after it, sends the
# same cases instead of generating them again (tests/api/test_openapi_fuzz.py: ~40 s of CPU).
SHARED_CASES = {"tests/api/test_openapi_fuzz.py"}
SHARED_ENVIRONMENT = "INVENTORY_TESTS_SHARED"


# The jobs write bytecode even where PYTHONDONTWRITEBYTECODE is set (as on our shared machine): otherwise every
# pytest job, gunicorn worker and CLI subprocess compiles the project's modules afresh and pytest rewrites every
# test module again. The first process to import a module writes its .pyc (``__pycache__`` is ignored by git).
JOB_ENVIRONMENT = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def run_counting_cpu(command: list[str], log: Path, shared: Path) -> tuple[int, str, float, float]:
    """Run ``command`` with its output in ``log``; its exit status, output, CPU seconds (its own and those of the
    processes it waited for) and its PostgreSQL server's CPU seconds. The CPU is
    what the machine's other users cannot inflate (wall clock is): it is how a change to the suite is judged.
    """
    with log.open("wb") as output:
        environment = {**JOB_ENVIRONMENT, SHARED_ENVIRONMENT: str(shared)}
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=environment)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    text = log.read_text(errors="replace")
    # The embedded PostgreSQL server runs detached, so its CPU is not the job's rusage: the conftest prints it.
    server = [float(line.split()[-2]) for line in text.splitlines() if line.startswith("database server CPU: ")]
    return process.returncode, text, usage.ru_utime + usage.ru_stime, sum(server)


def server_note(job: Job) -> str:
    return f" + {job.server_cpu:.0f} s its PostgreSQL server's" if job.server_cpu else ""


def cpu_ticks() -> tuple[int, int]:
    """The machine's (idle, total) CPU ticks so far, all cores (Linux); (0, 0) elsewhere."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    return fields[3] + fields[4], sum(fields)  # idle + iowait


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slots", type=int, default=2, help="jobs at a time (default 2: one per core)")
    parser.add_argument("--only", action="append", default=[], help="run only the jobs whose name contains this")
    parser.add_argument("--durations", type=int, default=15, help="each job's slowest setups, calls, teardowns")
    parser.add_argument("--no-apart", action="store_true", help="the browser job takes a slot like the others")
    args = parser.parse_args()
    queue = [job for job in jobs() if not args.only or any(part in job.name for part in args.only)]
    apart = [] if args.no_apart else [job for job in queue if job.apart]
    queue = [job for job in queue if job not in apart]
    names = {job.name for job in queue + apart}
    ended: set[str] = set()
    lock = threading.Condition()
    started = time.monotonic()
    ticks_before = cpu_ticks()
    print(
        f"== {len(queue) + len(apart)} pytest jobs on {args.slots} slots"
        f"{f' and {len(apart)} beside them' if apart else ''}; load average {load()}",
        flush=True,
    )
    numbers = iter(range(1, 1000))

    with tempfile.TemporaryDirectory(prefix="make-test-") as scratch:

        def ready(job: Job) -> bool:
            return job.after is None or job.after in ended or job.after not in names

        def slot(alone: Job | None = None) -> None:
            while True:
                with lock:
                    # The first queued job whose prerequisite has ended; none yet: wait for a job to end.
                    lock.wait_for(lambda: alone is not None or not queue or any(map(ready, queue)))
                    if alone is None and not queue:
                        return
                    job = alone or queue.pop(next(i for i, queued in enumerate(queue) if ready(queued)))
                    number = next(numbers)
                    print(f"-- start {job.name} ({time.monotonic() - started:.0f} s)", flush=True)
                begun = time.monotonic()
                # Each job its own temp root, so no job prunes another's; output kept whole, printed at the end.
                job.status, job.output, job.cpu, job.server_cpu = run_counting_cpu(
                    job.command(Path(scratch) / f"job-{number}", args.durations),
                    Path(scratch) / f"job-{number}.log",
                    Path(scratch),
                )
                job.seconds = time.monotonic() - begun
                with lock:
                    ended.add(job.name)
                    lock.notify_all()
                    print(
                        f"\n==== {job.name}: exit {job.status} in {job.seconds:.0f} s, {job.cpu:.0f} s CPU"
                        f"{server_note(job)} ====\n"
                        f"{job.output}",
                        flush=True,
                    )
                if alone is not None:
                    return

        done = apart + queue
        threads = [threading.Thread(target=slot, args=(job,)) for job in apart]
        threads += [threading.Thread(target=slot) for _ in range(max(1, args.slots))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    cpu = sum(job.cpu for job in done)
    idle, total = (after - before for after, before in zip(cpu_ticks(), ticks_before, strict=True))
    server_cpu = sum(job.server_cpu for job in done)
    print(
        f"== summary (wall clock {time.monotonic() - started:.0f} s, jobs' CPU {cpu:.0f} s and their PostgreSQL"
        f" servers' {server_cpu:.0f} s; the machine's cores idle {idle / max(total, 1):.0%} of the time;"
        f" load average now {load()})"
    )
    for job in done:
        lines = job.output.strip().splitlines() or ["no output"]
        phases = [line.removeprefix("time by phase: ") for line in lines if line.startswith("time by phase: ")]
        summary = f"{lines[-1]} ({', '.join(phases)})"
        print(f"  {job.name}: exit {job.status}, {job.seconds:.0f} s, {job.cpu:.0f} s CPU{server_note(job)}: {summary}")
    failed = [job for job in done if job.status != 0]
    for job in failed:
        # Again at the very end: a CI log is often read from its tail, where the failing job's own output is long gone.
        print(f"\n== what failed in {job.name}:\n" + "\n".join(what_failed(job.output)))
    return 1 if failed else 0


def what_failed(output: str, limit: int = 60) -> list[str]:
    """A failed job's pytest verdicts (the short summary's FAILED/ERROR lines, which ``-ra`` asks for) and each
    failure's ``E`` lines (the assertion's message), at most ``limit`` lines; its output's tail without them."""
    lines = output.splitlines()
    verdicts = [line for line in lines if line.startswith(("FAILED ", "ERROR "))]
    reasons = [line for line in lines if line.startswith("E ")]
    chosen = verdicts + reasons if verdicts or reasons else lines[-limit:]
    return chosen[:limit] or ["no output"]


if __name__ == "__main__":
    sys.exit(main())
