"""The ledger against a model small enough to trust: hypothesis interleaves
records, imports, forced transitions, resends, id conflicts, rebuilds, export and
re-import round trips and verifies, and after every step the ledger must hold
exactly the events the model accepted, with the current statuses the model
predicts. The model knows the UiPath job table of the contract (tests/_spec.py)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from _spec import SPEC
from _spec import STATUSES as STATUSES_OF
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger import Ledger, LedgerError

pytestmark = pytest.mark.slow  # processes, crashes, concurrency or many generated cases

TABLE = {status: set(after) for status, after in SPEC[("uipath", "job")].items()}
STATUSES = STATUSES_OF[("uipath", "job")]
ENTITIES = ["a", "b", "c"]
BASE = 1_700_000_000

entities = st.sampled_from(ENTITIES)
written_status = st.sampled_from(STATUSES).flatmap(
    lambda s: st.sampled_from([s, s.lower(), s.upper()])
) | st.just("Bogus")
Send = tuple[str, str, bool]


def _content(event: dict[str, Any]) -> bytes:
    return orjson.dumps(
        {k: v for k, v in event.items() if k != "event_id"}, option=orjson.OPT_SORT_KEYS
    )


class LedgerModel(RuleBasedStateMachine):
    """What a user may rely on: an accepted event is there once, a duplicate
    changes nothing, a rejection changes nothing, the chain verifies."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="sl-model-"))
        self.ledger = Ledger.open(self.folder / "ledger.db")
        self.clock = 0
        self.current: dict[str, str | None] = dict.fromkeys(ENTITIES)
        self.ids: dict[str, bytes] = {}
        self.accepted: list[dict[str, Any]] = []

    def teardown(self) -> None:
        self.ledger.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- the model -------------------------------------------------------------

    def _event(
        self, entity: str, status: str, force: bool, event_id: str | None = None
    ) -> dict[str, Any]:
        self.clock += 1
        event: dict[str, Any] = {
            "model": "uipath",
            "type": "job",
            "id": entity,
            "status": status,
            "occurred_at": BASE + self.clock,
        }
        if force:
            event |= {"force": True, "reason": "operator override"}
        if event_id is not None:
            event["event_id"] = event_id
        return event

    def _expect(self, event: dict[str, Any], ordinal: int) -> str:
        """The outcome the contract promises, applied to the model. Without its own
        event id, an event is known by its content and its ordinal in the call."""
        content = _content(event)
        key = event.get("event_id") or f"{content!r}#{ordinal}"
        if key in self.ids:
            return "duplicate" if self.ids[key] == content else "event_id_conflict"
        canonical = next((s for s in STATUSES if s.casefold() == event["status"].casefold()), None)
        if canonical is None:
            return "unknown_status"
        if not event.get("force") and canonical not in TABLE.get(self.current[event["id"]], set()):
            return "illegal_transition"
        self.ids[key] = content
        self.current[event["id"]] = canonical
        self.accepted.append(event)
        return "accepted"

    def _send(self, events: list[dict[str, Any]], as_lines: bool) -> None:
        seen: dict[bytes, int] = {}
        expected = []
        for event in events:
            ordinal = seen.get(_content(event), 0)
            seen[_content(event)] = ordinal + 1
            expected.append(self._expect(event, ordinal))
        inputs: list[Any] = [orjson.dumps(e) for e in events] if as_lines else events
        report = self.ledger.append(inputs)
        got = [o.kind if o.error is None else o.error.code for o in report.outcomes]
        assert got == expected

    # -- rules -----------------------------------------------------------------

    @rule(entity=entities, status=written_status)
    def record(self, entity: str, status: str) -> None:
        event = self._event(entity, status, force=False)
        expected = self._expect(event, 0)
        got: str
        try:
            got = self.ledger.record(**event).kind
        except LedgerError as error:
            got = error.code
        assert got == expected

    @rule(entity=entities, status=st.sampled_from(STATUSES))
    def force(self, entity: str, status: str) -> None:
        self._send([self._event(entity, status, force=True)], as_lines=False)

    @rule(
        steps=st.lists(st.tuples(entities, written_status, st.booleans()), min_size=1, max_size=6),
        twice=st.booleans(),
    )
    def import_lines(self, steps: list[Send], twice: bool) -> None:
        """A JSONL import; with `twice`, a line repeated in the same file (the
        seed-004 duplicate), which must become two events when both are legal."""
        events = [self._event(entity, status, force) for entity, status, force in steps]
        if twice:
            events.append(dict(events[-1]))
        self._send(events, as_lines=True)

    @precondition(lambda self: bool(self.accepted))
    @rule(pick=st.integers(min_value=0))
    def resend(self, pick: int) -> None:
        event = self.accepted[pick % len(self.accepted)]
        before = self.ledger.store.head()
        self._send([event], as_lines=True)
        assert self.ledger.store.head() == before

    @rule(entity=entities, status=st.sampled_from(STATUSES), same=st.booleans())
    def explicit_event_id(self, entity: str, status: str, same: bool) -> None:
        """A chosen event id: new, or reused with other content (a conflict)."""
        key = "chosen-id" if same else f"chosen-{self.clock}"
        self._send([self._event(entity, status, force=True, event_id=key)], as_lines=False)

    @rule()
    def rebuild(self) -> None:
        assert self.ledger.views is not None
        before = self.ledger.views.dump()
        self.ledger.rebuild()
        assert self.ledger.views.dump() == before

    @rule()
    def export_import_round_trip(self) -> None:
        exported = list(self.ledger.export())
        copy = Path(tempfile.mkdtemp(dir=self.folder)) / "copy.db"
        with Ledger.open(copy) as fresh:
            report = fresh.append(exported)
            assert report.accepted == len(exported)
            assert list(fresh.export()) == exported
            assert fresh.views is not None and self.ledger.views is not None
            assert fresh.views.dump() == self.ledger.views.dump()
        again = self.ledger.append(exported)
        assert again.duplicates == len(exported)

    @rule()
    def verify(self) -> None:
        report = self.ledger.verify()
        assert report.ok and report.events == len(self.accepted)

    # -- invariants ------------------------------------------------------------

    @invariant()
    def holds_exactly_the_accepted_events(self) -> None:
        stored = [{k: v for k, v in e.items() if k != "event_id"} for e in self.ledger.export()]
        assert stored == [{k: v for k, v in e.items() if k != "event_id"} for e in self.accepted]

    @invariant()
    def views_show_the_model_status(self) -> None:
        for entity, status in self.current.items():
            if status is not None:
                assert self.ledger.status("uipath", "job", entity).status.status == status


LedgerModel.TestCase.settings = settings(
    max_examples=15, stateful_step_count=25, deadline=None, derandomize=True
)
test_ledger_behaves_like_its_model = LedgerModel.TestCase
