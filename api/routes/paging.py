"""Paging a SQLAlchemy select with flask-smorest's pagination parameters."""

from __future__ import annotations

import weakref
from typing import ClassVar

import flask_smorest
import orjson
from flask import Response
from flask_smorest import Page
from marshmallow import ValidationError
from sqlalchemy import func, select
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy

from api.extensions import db

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Half a billion rows at the largest page size; beyond it the row offset would overflow SQLite's 64-bit integer.
MAX_PAGE = 1_000_000


def _page_in_range(page_params) -> None:
    if page_params.page > MAX_PAGE:
        raise ValidationError({"page": [f"must be between 1 and {MAX_PAGE}"]})


class ArgumentParser(FlaskParser):
    """webargs' Flask parser, handing the schema the query string as a plain dict.

    webargs wraps ``request.args`` in a proxy that works out again, for every request, which fields take
    repeated values, and reads each field through werkzeug's ``MultiDict.get``, which raises and catches
    an exception for every field the query leaves out: most of the cost of parsing a query string. The
    dict holds the same values (a list for fields taking repeated values, else the first value given),
    so the schema loads, refuses and names fields exactly as before.
    """

    _repeated: ClassVar[weakref.WeakKeyDictionary] = weakref.WeakKeyDictionary()

    def repeated_keys(self, schema) -> frozenset[str]:
        """The query keys whose fields take repeated values (a list), as webargs' proxy would find them."""
        repeated = self._repeated.get(schema)
        if repeated is None:
            proxy = MultiDictProxy({}, schema, known_multi_fields=tuple(self.KNOWN_MULTI_FIELDS))
            repeated = self._repeated[schema] = frozenset(proxy.multiple_keys)
        return repeated

    def load_querystring(self, req, schema):
        repeated = self.repeated_keys(schema)
        args = req.args
        return {key: args.getlist(key) if key in repeated else args[key] for key in args}


class PageParser(ArgumentParser):
    """flask-smorest's parser of ``page`` and ``page_size``, refusing a page beyond ``MAX_PAGE`` (422)."""

    def parse(self, argmap, req=None, *, validate=None, **kwargs):
        validators = [] if validate is None else list(validate) if isinstance(validate, list | tuple) else [validate]
        return super().parse(argmap, req, validate=[*validators, _page_in_range], **kwargs)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint with our paging defaults and limits (it reads them from the class)."""

    DEFAULT_PAGINATION_PARAMETERS: ClassVar[dict[str, int]] = {
        "page": 1,
        "page_size": DEFAULT_PAGE_SIZE,
        "max_page_size": MAX_PAGE_SIZE,
    }
    PAGINATION_ARGUMENTS_PARSER = PageParser()
    ARGUMENTS_PARSER = ArgumentParser()


class SelectPage(Page):
    """Counts and slices a ``select()`` in the database rather than in Python."""

    @property
    def item_count(self) -> int:
        return count_rows(self.statement)

    @property
    def statement(self):
        """The select being paged (subclasses page something that holds one)."""
        return self.collection

    @property
    def items(self) -> list:
        stmt = self.statement.offset(self.page_params.first_item).limit(self.page_params.page_size)
        return list(db.session.scalars(stmt).unique())


def count_rows(statement) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))


def json_answer(body: dict, status: int = 200) -> Response:
    """An answer whose body is the schema's dump built directly (nearest, plans, stock writes), encoded by orjson
    as Flask would encode it: UTF-8, one line, a newline. The route's ``@blp.response`` schema stays the
    documented contract; tests hold the two equal to the byte."""
    return Response(orjson.dumps(body) + b"\n", status=status, mimetype="application/json")
