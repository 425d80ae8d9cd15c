"""The engine's typed hand-offs: which pairs to sync, and how a pair ended, without reading any text."""

from __future__ import annotations

import pytest

from ssmux.core.models import Settings, SyncPair
from ssmux.errors import ErrorCode, NoPairEnabled, SyncDisabled
from ssmux.sync.engine import OutcomeKind, PairOutcome, pairs_to_sync


def test_pairs_to_sync_raises_a_type_per_reason() -> None:
    """Sync off and no enabled pair are two error types; named pairs run either way."""
    with pytest.raises(SyncDisabled, match="sync is disabled: enable it with"):
        pairs_to_sync(Settings(sync_enabled=False))
    with pytest.raises(NoPairEnabled, match="no sync pair is enabled: add one"):
        pairs_to_sync(Settings(sync_enabled=True, sync_pairs=(SyncPair("dev", "eu-west-1", False),)))
    assert pairs_to_sync(Settings(sync_enabled=False), [("a", "r"), ("a", "r")]) == [("a", "r")]


@pytest.mark.parametrize(
    ("kind", "code", "status"),
    [
        (OutcomeKind.OK, None, "ok"),
        (OutcomeKind.FAILED, "AccessDeniedException", "error"),
        (OutcomeKind.CANCELLED, ErrorCode.CANCELLED, "error"),
    ],
)
def test_outcome_kind_and_its_json_form(kind: OutcomeKind, code: str | None, status: str) -> None:
    """The kind decides ok and cancelled; the JSON keeps ``status`` ok/error and the code as text."""
    outcome = PairOutcome("dev", "eu-west-1", kind, error_code=code, error_message=code and "what to do")
    assert (outcome.ok, outcome.cancelled) == (kind is OutcomeKind.OK, kind is OutcomeKind.CANCELLED)
    data = outcome.to_dict()
    assert data["status"] == status and type(data["status"]) is str
    assert data["error"] == (None if code is None else {"code": str(code), "message": "what to do"})
