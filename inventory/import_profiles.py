"""Column-mapping profiles for ledger imports: saved once, applied by themselves to files with the same headers.

A profile maps header words (as ``importers.columns.header_key`` compares them) to ledger fields, "" for a
column to ignore, and remembers the header rows it was made for (their signatures). Which field names exist
is the importer's vocabulary: it checks a mapping before saving it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inventory.access import Actor, require_import_profile_edit
from inventory.errors import ValidationFailed
from inventory.models import ImportProfile
from inventory.validation import check_text, text_limit

MAX_MAPPED_HEADERS = 200


@dataclass(frozen=True)
class ProfileRule:
    """A profile as the importer applies it."""

    name: str
    mapping: dict[str, str]
    header_signatures: frozenset[str]


def save_profile(
    session: Session, actor: Actor, name: str, mapping: dict[str, str], header_signatures: list[str]
) -> ImportProfile:
    """Create or replace the profile ``name``; its header rows are added to those it already knew."""
    principal = require_import_profile_edit(actor)
    name = check_text(name, "profile", max_length=text_limit(ImportProfile.name), required=True)
    if not mapping or len(mapping) > MAX_MAPPED_HEADERS:
        raise ValidationFailed(f"a profile maps 1 to {MAX_MAPPED_HEADERS} headers", field="map")
    mapped = json.dumps(mapping, ensure_ascii=False, sort_keys=True)
    locked_profile = select(ImportProfile).where(ImportProfile.name == name).with_for_update()
    profile = session.scalar(locked_profile)
    if profile is None:
        created = ImportProfile(
            name=name,
            mapping=mapped,
            header_signatures=json.dumps(sorted(set(header_signatures))),
            created_by=principal.username,
        )
        try:
            with session.begin_nested():
                session.add(created)
                session.flush()
            return created
        except IntegrityError:  # the same name first saved by another request meanwhile: replaced, as if later
            profile = session.scalar(locked_profile)
            if profile is None:
                raise
    known = set(json.loads(profile.header_signatures))
    profile.mapping = mapped
    profile.header_signatures = json.dumps(sorted(known | set(header_signatures)))
    session.flush()
    return profile


def get_profile(session: Session, name: str) -> ProfileRule:
    profile = session.scalar(select(ImportProfile).where(ImportProfile.name == name))
    if profile is None:
        raise ValidationFailed(f"no import profile is called {name!r}", field="profile")
    return _rule(profile)


def list_profiles(session: Session) -> list[ProfileRule]:
    """Every profile, oldest first: when two know the same header row, the older applies."""
    return [_rule(profile) for profile in session.scalars(select(ImportProfile).order_by(ImportProfile.id))]


def _rule(profile: ImportProfile) -> ProfileRule:
    return ProfileRule(
        name=profile.name,
        mapping=json.loads(profile.mapping),
        header_signatures=frozenset(json.loads(profile.header_signatures)),
    )
