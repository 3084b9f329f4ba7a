"""``flask --app wsgi users …``: accounts and tokens from the shell (trusted, like an admin).

Also ``demo-accounts``, which `make run` uses to give a newcomer one account per role.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask import Flask
from sqlalchemy import select

from api.cli.common import one_transaction, operator_option
from api.config import PROJECT_ROOT
from api.extensions import db
from inventory.access import Principal
from inventory.accounts import create_token, create_user, list_tokens, revoke_token, update_user
from inventory.models import User, Warehouse
from inventory.reference import Role

DEMO_ACCOUNTS_FILE = PROJECT_ROOT / "instance" / "demo-accounts.txt"
DEMO_PROVINCE = "110000"  # 北京


def register(app: Flask) -> None:
    users = click.Group("users", help="Create accounts and API tokens; list, revoke, deactivate.")
    app.cli.add_command(users)

    @users.command("create")
    @click.argument("username")
    @click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
    @click.option("--province", "province_code", help="province code (provincial staff)")
    @click.option("--warehouse", "warehouse_codes", multiple=True, help="warehouse code (managers; repeatable)")
    @click.option("--display-name", default="")
    @click.option("--password", help="web login password (or use --ask-password)")
    @click.option("--ask-password", is_flag=True, help="prompt for the password")
    @operator_option
    def create(username, role, province_code, warehouse_codes, display_name, password, ask_password, operator):
        """Create an account. The first admin: users create admin --role admin --ask-password."""
        if ask_password:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        with one_transaction():
            user = create_user(
                db.session,
                operator,
                username=username,
                role=role,
                province_code=province_code,
                warehouse_codes=list(warehouse_codes),
                display_name=display_name,
                password=password,
            )
            click.echo(f"created {user.username} ({user.role.value})")

    @users.command("list")
    def list_command() -> None:
        """All accounts with role and scope."""
        for user in db.session.scalars(select(User).order_by(User.username)):
            scope = user.province_code or ",".join(w.code for w in user.warehouses) or "-"
            state = "active" if user.active else "inactive"
            click.echo(f"{user.username:24} {user.role.value:11} {state:9} {scope}")

    @users.command("set-password")
    @click.argument("username")
    @click.password_option()
    @operator_option
    def set_password(username: str, password: str, operator: Principal) -> None:
        """Set or reset an account's web login password."""
        with one_transaction():
            update_user(db.session, operator, username, password=password)
        click.echo(f"password of {username} changed")

    @users.command("deactivate")
    @click.argument("username")
    @operator_option
    def deactivate(username: str, operator: Principal) -> None:
        """Block an account at once (its tokens and sessions stop working)."""
        with one_transaction():
            update_user(db.session, operator, username, active=False)
        click.echo(f"{username} deactivated")

    @users.command("token")
    @click.argument("username")
    @click.option("--name", default="", help="what the token is for")
    @click.option("--days", type=int, default=90, show_default=True)
    @operator_option
    def token(username: str, name: str, days: int, operator: Principal) -> None:
        """Create an API token; it is printed once and only its hash is kept."""
        with one_transaction():
            record, plain = create_token(db.session, operator, username=username, name=name, days=days)
            click.echo(f"token {record.id} for {username}, expires {record.expires_at:%Y-%m-%d}:")
        click.echo(plain)

    @users.command("tokens")
    @click.argument("username")
    def tokens(username: str) -> None:
        """An account's tokens (id, prefix, expiry, revoked)."""
        for record in list_tokens(db.session, Principal.operator(), username):
            revoked = f"revoked {record.revoked_at:%Y-%m-%d}" if record.revoked_at else ""
            click.echo(f"{record.id:6} {record.prefix}… expires {record.expires_at:%Y-%m-%d} {record.name} {revoked}")

    @users.command("revoke")
    @click.argument("token_id", type=int)
    @operator_option
    def revoke(token_id: int, operator: Principal) -> None:
        """Revoke a token by its id."""
        with one_transaction():
            revoke_token(db.session, operator, token_id)
        click.echo(f"token {token_id} revoked")

    @app.cli.command("demo-accounts")
    @click.option("--file", "path", type=click.Path(path_type=Path), default=DEMO_ACCOUNTS_FILE, show_default=True)
    def demo_accounts(path: Path) -> None:
        """Create one demo account per role (once) and write their passwords and tokens to a file."""
        if db.session.scalar(select(User.id).where(User.username == "demo-admin")) is not None:
            click.echo(f"demo accounts exist; their passwords and tokens are in {path}")
            return
        managed = list(
            db.session.scalars(
                select(Warehouse.code).where(Warehouse.province_code == DEMO_PROVINCE).order_by(Warehouse.code).limit(3)
            )
        )
        lines = ["# Demo accounts (created by `flask demo-accounts`; delete this file in production)", ""]
        operator = Principal.operator()
        with one_transaction():
            for role in Role:
                password = secrets.token_urlsafe(12)
                scope = {
                    Role.PROVINCIAL: {"province_code": DEMO_PROVINCE},
                    Role.MANAGER: {"warehouse_codes": managed},
                }.get(role, {})
                user = create_user(
                    db.session,
                    operator,
                    username=f"demo-{role.value}",
                    role=role.value,
                    password=password,
                    display_name=f"Demo {role.label_en}",
                    **scope,
                )
                _, token = create_token(db.session, operator, username=user.username, name="demo", days=90)
                detail = scope.get("province_code") or ",".join(scope.get("warehouse_codes", [])) or "-"
                lines.append(f"{user.username:18} role={role.value:10} scope={detail:26} password={password}")
                lines.append(f"{'':18} token={token}")
            # written before the accounts commit: a file that cannot be written leaves no account whose
            # password nobody was ever told
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(lines) + "\n", encoding="utf-8")
            path.chmod(0o600)
        click.echo(f"demo accounts for every role written to {path}")
