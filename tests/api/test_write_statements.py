"""What one receipt and one issue cost in SQL statements, whole request included (authentication, the answer).

Round trips are most of a write's time on PostgreSQL. Counted on a second app (another worker, whose
sessions start fresh, as in production) once its authentication cache holds the token.
"""

from __future__ import annotations

from sqlalchemy import event

from api import create_app
from api.extensions import db
from tests.conftest import bearer_client

NOT_COUNTED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def test_a_receipt_and_an_issue_take_few_statements(database_url, stocked_line, token_for):
    line = stocked_line(100)
    target = {"warehouse_code": line.warehouse.code, "item_code": line.item.code, "batch": line.batch}
    line_id = line.id
    token = token_for("admin")
    db.session.commit()
    worker = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True, "SECRET_KEY": "test"})
    client = bearer_client(worker, token)
    with worker.app_context():
        engine = db.engine
    sent: list[str] = []

    def count(_conn, _cursor, statement, *_rest) -> None:
        if not statement.lstrip().upper().startswith(NOT_COUNTED):
            sent.append(statement)

    try:
        assert client.get("/api/v1/auth/me").status_code == 200  # the token is now in this worker's cache
        event.listen(engine, "before_cursor_execute", count)
        receipt = client.post("/api/v1/receipts", json={**target, "quantity": 2})
        assert receipt.status_code == 201, receipt.json
        receipt_statements, sent[:] = list(sent), []
        issue = client.post(f"/api/v1/stock-lines/{line_id}/issues", json={"quantity": 3})
        assert issue.status_code == 201, issue.json
        issue_statements = list(sent)
    finally:
        event.remove(engine, "before_cursor_execute", count)
        engine.dispose()
    assert receipt.json["quantity_after"] == 102 and receipt.json["batch"] == target["batch"]
    assert issue.json["quantity_after"] == 99 and issue.json["warehouse_code"] == target["warehouse_code"]
    # data version, warehouse + item + the line (one SELECT), UPDATE … RETURNING, the ledger entry, the audit entry.
    assert len(receipt_statements) <= 5, receipt_statements
    # data version, the line, UPDATE … RETURNING, the ledger entry, the audit entry.
    assert len(issue_statements) <= 5, issue_statements
    assert not any("item_alias" in statement for statement in receipt_statements + issue_statements)
    if database_url.startswith("postgresql"):  # the UPDATE and both entries are one statement there
        assert len(receipt_statements) <= 3 and len(issue_statements) <= 3, (receipt_statements, issue_statements)
