"""melib.data.quirks: the table notebook 01 shows names only functions that exist in melib.data."""

import importlib

from melib.data.quirks import QUIRKS, quirks_table

RELEASES = {"CASME II", "SAMM", "CAS(ME)^3", "SAMM-LV"}


def test_every_release_has_quirks_and_every_row_is_complete():
    assert {q["dataset"] for q in QUIRKS} == RELEASES
    assert all(q[k].strip() for q in QUIRKS for k in ("where", "quirk", "handling", "by"))
    assert list(quirks_table().columns) == ["dataset", "where", "quirk", "handling", "by"]


def test_every_handler_exists():
    for q in QUIRKS:
        module, name = q["by"].split(":")
        assert module.startswith("melib.data."), q
        assert callable(getattr(importlib.import_module(module), name, None)), f"{q['by']} does not exist"
