"""Reading and writing staff scopes."""

from __future__ import annotations

import pytest

from storage.scopes import BadScope, Scope


@pytest.mark.parametrize(
    ("typed", "kind", "values"),
    [
        ("all", "all", ()),
        ("", "all", ()),
        ("GN,ml", "countries", ("GN", "ML")),
        ("countries: gn , GN", "countries", ("GN",)),
        ("offices:Conakry, Labé", "offices", ("Conakry", "Labé")),
        ("caseload", "caseload", ()),
    ],
)
def test_a_scope_is_read_as_typed(typed: str, kind: str, values: tuple[str, ...]) -> None:
    scope = Scope.parse(typed)
    assert (scope.kind, scope.values) == (kind, values)
    assert Scope.parse(scope.text) == scope


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("Guinea", "not a country code"),
        ("countries:", "at least one"),
        ("offices:", "at least one"),
        ("caseload:Awa", "takes no values"),
        ("regions:X", "not a country code"),
        ("offices:" + ",".join(["Conakry"] + [f"office {i}" for i in range(60)]), "at most"),
    ],
)
def test_a_scope_that_does_not_fit_says_why(typed: str, reason: str) -> None:
    with pytest.raises(BadScope, match=reason):
        Scope.parse(typed)


def test_a_caseload_scope_carries_its_owners_keys_into_a_schedule() -> None:
    scope = Scope.parse("caseload").for_staff("Awa@Office.example", "Awa Camara")
    assert scope.caseworker_keys == ("awa@office.example", "awa camara")
    assert Scope.thawed(scope.frozen()) == scope
    assert Scope.thawed(None).is_everyone and Scope().frozen() is None
    # nobody matches an empty caseload (a member without address or name)
    assert Scope.parse("caseload").returnees() is not None
