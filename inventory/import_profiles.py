"""Column-mapping profiles for ledger imports: saved once, applied by themselves to files with the same headers.

A profile maps header words (as ``importers.columns.header_key`` compares them) to ledger fields, "" for a
column to ignore, and remembers the header rows it was made for (their signatures). Which field names exist
is the importer's vocabulary: it checks a mapping before saving it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
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
    profile = session.scalar(select(ImportProfile).where(ImportProfile.name == name).with_for_update())
    known = set(json.loads(profile.header_signatures)) if profile is not None else set()
    signatures = json.dumps(sorted(known | set(header_signatures)))
    if profile is None:
        profile = ImportProfile(name=name, mapping="", header_signatures=signatures, created_by=principal.username)
        session.add(profile)
    profile.mapping = json.dumps(mapping, ensure_ascii=False, sort_keys=True)
    profile.header_signatures = signatures
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
