"""``--as USERNAME`` on the CLI applies that account's role and scope exactly as the API does;
without it the command is the operator ``system``, and the audit log says so."""

from __future__ import annotations

from sqlalchemy import select

from api.extensions import db
from inventory.accounts import create_user
from inventory.db import intends_to_write
from inventory.models import AuditEntry, User
from tests.importers.conftest import HEADER, database_dump, ledger_row, sheet_of_rows

GUANGDONG_ROW = ledger_row("GD-1", "活性炭", 7, 区县代码="440106", 仓库名称="天河区环境应急物资储备库")
BEIJING_ROW = ledger_row("BJ-1", "活性炭", 7)


def invoke(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def _account(username: str, role: str, **scope) -> None:
    with intends_to_write():
        create_user(db.session, "tester", username=username, role=role, **scope)
        db.session.commit()


def test_a_provincial_account_cannot_export_another_province(app, tmp_path):
    _account("bj", "provincial", province_code="110000")
    out = tmp_path / "gd.xlsx"

    refused = invoke(app, "export-ledger", "--region", "440000", "-o", str(out), "--as", "bj")

    assert refused.exit_code != 0
    assert "outside province 110000" in refused.output
    assert not out.exists()
    allowed = invoke(app, "export-ledger", "--region", "110000", "-o", str(tmp_path / "bj.xlsx"), "--as", "bj")
    assert allowed.exit_code == 0, allowed.output


def test_a_provincial_account_cannot_import_a_row_of_another_province(app, tmp_path):
    _account("bj", "provincial", province_code="110000")
    path = tmp_path / "ledger.xlsx"
    path.write_bytes(sheet_of_rows([HEADER, BEIJING_ROW, GUANGDONG_ROW]))
    before = database_dump()

    refused = invoke(app, "import-ledger", str(path), "--as", "bj")

    assert refused.exit_code == 1, refused.output
    assert "row 3" in refused.output
    assert database_dump() == before


def test_a_viewer_account_cannot_create_accounts_from_the_shell(app):
    _account("vic", "viewer")

    refused = invoke(app, "users", "create", "mallory", "--role", "admin", "--as", "vic")

    assert refused.exit_code != 0
    assert "not an administrator" in refused.output
    assert db.session.scalar(select(User).where(User.username == "mallory")) is None


def test_a_deactivated_account_cannot_act_from_the_shell(app):
    _account("olga", "admin")
    _account("keeper", "admin")  # the last active administrator cannot be deactivated
    assert invoke(app, "users", "deactivate", "olga").exit_code == 0

    refused = invoke(app, "users", "create", "pete", "--role", "viewer", "--as", "olga")

    assert refused.exit_code != 0
    assert "deactivated" in refused.output


def test_without_as_the_audit_log_names_the_operator_system_from_cli(app):
    assert invoke(app, "users", "create", "pete", "--role", "viewer").exit_code == 0
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.object_key == "pete")).one()
    assert (entry.actor, entry.address) == ("system", "cli")
