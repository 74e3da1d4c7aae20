"""Which returnees a staff member may see and act on: everyone, those of some countries,
those of some offices, or their own caseload (returnees whose caseworker, in the caseload
import or as an admin assigned them, is their address or their name).

A scope is kept on the staff row as text (``all``, ``countries:GN,ML``,
``offices:Conakry,Labé``, ``caseload``) and applied as a condition in the database query
of every staff read and action (:meth:`Scope.returnees`), never as a filter after reading.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, false, func, select
from sqlalchemy.orm import QueryableAttribute

from storage.models import Returnee, ReturneeProfile

ScopeKind = Literal["all", "countries", "offices", "caseload"]
SCOPE_KINDS: tuple[ScopeKind, ...] = ("all", "countries", "offices", "caseload")
COUNTRY = re.compile(r"^[A-Z]{2,3}$")
#: the longest scope text the staff table keeps
MAX_TEXT = 400


class BadScope(ValueError):
    """A scope that cannot be read (its message says why, in English)."""


def _values(raw: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in raw:
        value = " ".join(value.split())
        if value:
            seen.setdefault(value, None)
    return tuple(seen)


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind = "all"
    #: country codes (upper case) or office names, by kind
    values: tuple[str, ...] = ()
    #: for ``caseload``: what the caseload's caseworker column may hold for this staff
    #: member (their address, their name), lower case; filled when the scope is loaded
    caseworker_keys: tuple[str, ...] = ()

    @classmethod
    def of(cls, kind: str, values: Iterable[str] = ()) -> Scope:
        """A scope from its kind and values (:class:`BadScope` if they do not fit)."""
        if kind not in SCOPE_KINDS:
            raise BadScope(f"unknown scope '{kind}': one of {', '.join(SCOPE_KINDS)}")
        found = _values(values)
        if kind == "countries":
            found = tuple(dict.fromkeys(v.upper() for v in found))
            wrong = [v for v in found if not COUNTRY.match(v)]
            if wrong:
                raise BadScope(f"not a country code: {', '.join(wrong)}")
        if kind in ("countries", "offices"):
            if not found:
                raise BadScope(f"a scope of {kind} names at least one")
            if any("," in v for v in found):
                raise BadScope("an office name cannot hold a comma")
        elif found:
            raise BadScope(f"a scope of '{kind}' takes no values")
        scope = cls(kind, found)
        if len(scope.text) > MAX_TEXT:
            raise BadScope(f"a scope is at most {MAX_TEXT} characters")
        return scope

    @classmethod
    def parse(cls, text: str | None) -> Scope:
        """A scope from its stored or typed text: ``all``, ``caseload``,
        ``countries:GN,ML``, ``offices:Conakry,Labé``; a bare list of country codes
        (``GN,ML``) is read as countries."""
        text = (text or "all").strip()
        kind, _, rest = text.partition(":")
        kind = kind.strip().lower()
        if kind in SCOPE_KINDS:
            return cls.of(kind, rest.split(",") if rest else ())
        return cls.of("countries", text.split(","))

    def for_staff(self, email: str | None, name: str | None) -> Scope:
        """This scope with the keys that match a staff member's own caseload."""
        if self.kind != "caseload":
            return self
        keys = tuple(k.strip().lower() for k in (email, name) if k and k.strip())
        return Scope(self.kind, self.values, keys)

    @property
    def text(self) -> str:
        return self.kind if not self.values else f"{self.kind}:{','.join(self.values)}"

    @property
    def is_everyone(self) -> bool:
        return self.kind == "all"

    def returnees(self) -> ColumnElement[bool] | None:
        """The condition a query on ``returnees`` adds (None: no limit)."""
        if self.kind == "all":
            return None
        if self.kind == "countries":
            return Returnee.country.in_(self.values)
        return Returnee.id.in_(self._profiles())

    def returnee_ids(self, column: QueryableAttribute[Any]) -> ColumnElement[bool] | None:
        """The condition on a column holding a returnee id (None: no limit)."""
        if self.kind == "all":
            return None
        if self.kind == "countries":
            return column.in_(select(Returnee.id).where(Returnee.country.in_(self.values)))
        return column.in_(self._profiles())

    def _profiles(self) -> Any:
        where: ColumnElement[bool]
        if self.kind == "offices":
            where = func.lower(ReturneeProfile.office).in_([v.lower() for v in self.values])
        elif self.caseworker_keys:
            where = func.lower(ReturneeProfile.caseworker).in_(self.caseworker_keys)
        else:
            where = false()
        return select(ReturneeProfile.returnee_id).where(where)

    def admits(self, country: str | None, office: str | None, caseworker: str | None) -> bool:
        """Whether a returnee of this country, office and caseworker (a caseload file's
        row) is in the scope."""
        if self.kind == "countries":
            return (country or "").upper() in self.values
        if self.kind == "offices":
            return (office or "").strip().lower() in {v.lower() for v in self.values}
        if self.kind == "caseload":
            return (caseworker or "").strip().lower() in self.caseworker_keys
        return True

    def frozen(self) -> str | None:
        """The scope as a schedule keeps it, keys included, so that it runs tomorrow as
        it was set today (None: everyone)."""
        if self.kind == "all":
            return None
        return json.dumps(
            {"kind": self.kind, "values": self.values, "keys": self.caseworker_keys},
            ensure_ascii=False,
        )

    @classmethod
    def thawed(cls, frozen: str | None) -> Scope:
        if not frozen:
            return cls()
        data = json.loads(frozen)
        return cls(data["kind"], tuple(data["values"]), tuple(data["keys"]))


#: the scope of staff who see every returnee
EVERYONE = Scope()
