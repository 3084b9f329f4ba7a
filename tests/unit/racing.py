"""Run jobs at once, each in its own thread, connection and transaction: for race tests on real databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from api.extensions import db
from inventory.db import intends_to_write
from inventory.errors import DomainError


def run_at_once(app, jobs: list[Callable[[], object]]) -> list[str]:
    """Release every job together; each commits alone: 'done', or 'refused: <message>' (a 4xx in the API)."""
    start = threading.Barrier(len(jobs))

    def run(job: Callable[[], object]) -> str:
        with app.app_context(), intends_to_write():
            try:
                start.wait()
                job()
                db.session.commit()
                return "done"
            except DomainError as refused:
                db.session.rollback()
                return f"refused: {refused.message}"
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs))
