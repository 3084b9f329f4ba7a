"""Hostile input stopped at the door, before any schema, service or database sees it.

One ``before_request`` hook, ahead of authentication (so the anonymous ``/auth/login`` is covered too):

* a body other than a multipart upload is held to ``MAX_JSON_BYTES`` (413);
* a JSON body nested deeper than ``MAX_JSON_DEPTH`` is refused (400) by a cheap scan, before any recursive
  parser (``json.loads``, marshmallow) could hit Python's recursion limit;
* a JSON body that parses but not into Python values (an integer of more than 4,300 digits) is a 400;
* text no database or UTF-8 response can hold (control characters, unpaired surrogates) in a path
  segment, a query parameter or any JSON string is a 422 naming the field.

The rules for text live in ``inventory.validation``; this module only applies them to every input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from api.config import MAX_JSON_DEPTH
from api.errors import problem
from inventory.validation import invalid_character_message, printable

# A JSON string, escapes included (unrolled, so it runs in linear time), and the brackets outside strings.
JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
JSON_BRACKETS = re.compile(r"[\[\]{}]")


def register_input_guard(app: Flask) -> None:
    app.before_request(refuse_hostile_input)


def refuse_hostile_input() -> Response | None:
    current = request._get_current_object()
    return hostile_input_answer(current, current.view_args)


def hostile_input_answer(current, view_args: dict | None) -> Response | None:
    """The refusal of hostile input in the request ``current`` (Flask's, or the lean path's, api/lean.py), or None.
    ``view_args``: the values its URL rule took from the path."""
    if current.mimetype != "multipart/form-data":
        current.max_content_length = min(current_app.config["MAX_JSON_BYTES"], _upload_limit())
    if (current.content_length or 0) > (current.max_content_length or float("inf")):
        raise RequestEntityTooLarge()  # announced too long: refused whether or not a view would read it
    for name, value in (view_args or {}).items():
        if isinstance(value, str) and (message := invalid_character_message(value)):
            return _bad_text(name, message)
    if bad := bad_query_text(current.args):
        return _bad_text(*bad)
    if current.is_json:
        return _check_json_body(current)
    return None


def bad_query_text(args) -> tuple[str, str] | None:
    """The first query parameter (its printable name, the message) whose name or a value no database or UTF-8
    answer can hold; None when all are acceptable. ``args``: a werkzeug MultiDict (``request.args``)."""
    for name, values in args.lists():
        for text in (name, *values):
            if message := invalid_character_message(text):
                return printable(name), message
    return None


def _upload_limit() -> float:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return float("inf") if limit is None else limit


def _check_json_body(current) -> Response | None:
    raw = current.get_data(cache=True)  # over the limit: werkzeug's 413
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None  # webargs answers it: 400 "Invalid JSON body"
    if json_nesting_exceeds(text, MAX_JSON_DEPTH):
        return problem(
            400,
            "Bad Request",
            f"JSON nested deeper than {MAX_JSON_DEPTH} levels",
            {"json": [f"arrays and objects may nest at most {MAX_JSON_DEPTH} levels deep"]},
        )
    try:
        body = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        return None  # webargs answers it with its own 400
    except ValueError as error:  # e.g. an integer of more digits than Python converts
        return problem(400, "Bad Request", "the JSON body cannot be read", {"json": [str(error)]})
    for path, message in _invalid_strings(body, ()):
        return _bad_text(path, message)
    return None


def json_nesting_exceeds(text: str, limit: int) -> bool:
    """Whether arrays and objects in ``text`` nest deeper than ``limit``: brackets inside strings do not count.

    Linear and without recursion; malformed JSON may be judged either way (the parser refuses it anyway).
    """
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    for bracket in JSON_BRACKETS.findall(JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > limit:
            return True
    return False


def _invalid_strings(value: object, path: tuple) -> Iterator[tuple[tuple, str]]:
    """(path, message) of every string, or object key, that is not acceptable text; depth is bounded already."""
    if isinstance(value, str):
        if message := invalid_character_message(value):
            yield path, message
    elif isinstance(value, dict):
        for key, item in value.items():
            if message := invalid_character_message(key):
                yield (*path, printable(key)), f"the name {message}"
            yield from _invalid_strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _invalid_strings(item, (*path, index))


def _bad_text(path: str | tuple, message: str) -> Response:
    """422 whose ``errors`` name the field as marshmallow does: nested by object key and list index."""
    parts = (path,) if isinstance(path, str) else path or ("_schema",)
    errors: dict = {str(parts[-1]): [message]}
    for part in reversed(parts[:-1]):
        errors = {str(part): errors}
    return problem(422, "Unprocessable Entity", None, errors)
