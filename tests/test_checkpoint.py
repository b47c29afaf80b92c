"""External anchoring (issue 22, item 3): the unkeyed chain cannot tell a
consistent rewrite or truncation of the tail from the real thing; a signed
checkpoint kept elsewhere can. Attacks edit the database directly
(tests/_tamper.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from _spec import cli, event
from _tamper import rechain, truncate

from ledger import Checkpoint, InvalidCheckpoint, Ledger, UsageError, generate_key

EVENTS = [
    event("uipath", "job", "j-1", "Pending", 0),
    event("uipath", "job", "j-1", "Running", 1),
    event("uipath", "job", "j-2", "Pending", 2),
    event("uipath", "job", "j-1", "Successful", 3),
    event("uipath", "job", "j-2", "Running", 4),
]


@pytest.fixture
def key(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.key"
    assert cli("checkpoint", "keygen", str(path)).exit_code == 0
    return path


@pytest.fixture
def anchored(ledger_url: str, key: Path, tmp_path: Path) -> tuple[str, Path]:
    """A ledger of 5 events with a checkpoint at seq 3 and one at seq 5."""
    checkpoints = tmp_path / "checkpoints.jsonl"
    with Ledger.open(ledger_url) as ledger:
        ledger.append(EVENTS[:3])
        ledger.checkpoint(key, append_to=checkpoints)
        ledger.append(EVENTS[3:])
    result = cli(
        "checkpoint", "--key", str(key), "--append-to", str(checkpoints), "--db", ledger_url
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["seq"] == 5
    return ledger_url, checkpoints


def _verify(db: str, *options: str) -> tuple[int, dict[str, object], str]:
    as_json = cli("verify", "--json", *options, "--db", db)
    plain = cli("verify", *options, "--db", db)
    assert as_json.exit_code == plain.exit_code, plain.output
    return plain.exit_code, json.loads(as_json.stdout) if as_json.stdout else {}, plain.output


def test_keygen_writes_a_private_key_only_its_owner_reads_and_never_overwrites(
    key: Path,
) -> None:
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key.with_name("ledger.key.pub").read_text().startswith("-----BEGIN PUBLIC KEY-----")
    before = key.read_bytes()
    result = cli("checkpoint", "keygen", str(key))
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert key.read_bytes() == before
    with pytest.raises(UsageError):
        generate_key(key)


def test_a_ledger_that_extends_its_checkpoints_verifies(anchored: tuple[str, Path]) -> None:
    db, checkpoints = anchored
    code, report, text = _verify(db, "--against", str(checkpoints))
    assert code == 0 and report["checkpoints"] == 2
    assert text.startswith("chain intact: 5 events") and "2 checkpoints extended" in text


def test_a_consistent_rewrite_of_the_tail_is_caught_only_by_a_checkpoint(
    anchored: tuple[str, Path], key: Path
) -> None:
    db, checkpoints = anchored
    rechain(db, 4, lambda data: data.__setitem__("status", "Faulted"))
    assert _verify(db)[0] == 0  # the unkeyed chain holds: every hash was recomputed
    code, report, text = _verify(db, "--against", str(checkpoints), "--public-key", f"{key}.pub")
    assert (code, report["code"], report["first_broken_seq"]) == (1, "checkpoint_rewritten", 5)
    assert "events after seq 3 were rewritten" in text


def test_a_consistent_truncation_of_the_tail_is_caught_only_by_a_checkpoint(
    anchored: tuple[str, Path],
) -> None:
    db, checkpoints = anchored
    truncate(db, 4)
    assert _verify(db)[0] == 0  # events, keys and head all agree on seq 4
    code, report, _ = _verify(db, "--against", str(checkpoints))
    assert (code, report["code"], report["first_broken_seq"]) == (1, "checkpoint_truncated", 5)


def test_an_edited_checkpoint_is_a_bad_signature(anchored: tuple[str, Path]) -> None:
    db, checkpoints = anchored
    lines = checkpoints.read_text().splitlines()
    forged = json.loads(lines[1])
    forged["seq"] = 4
    checkpoints.write_text(lines[0] + "\n" + json.dumps(forged) + "\n")
    code, report, text = _verify(db, "--against", str(checkpoints))
    assert (code, report["code"], report["first_broken_seq"]) == (
        1,
        "checkpoint_bad_signature",
        None,
    )
    assert f"{checkpoints}:2" in text


def test_a_checkpoint_signed_with_another_key_is_refused_when_the_key_is_given(
    anchored: tuple[str, Path], tmp_path: Path
) -> None:
    """A writer who rewrites the ledger can sign new checkpoints with a key of their
    own: only a key the verifier trusts tells them apart."""
    db, checkpoints = anchored
    other = tmp_path / "other.key"
    generate_key(other)
    with Ledger.open(db) as ledger:
        ledger.checkpoint(other, append_to=tmp_path / "forged.jsonl")
    assert _verify(db, "--against", str(tmp_path / "forged.jsonl"))[0] == 0
    code, report, _ = _verify(
        db, "--against", str(tmp_path / "forged.jsonl"), "--public-key", f"{other}.pub"
    )
    assert code == 0
    code, report, _ = _verify(db, "--against", str(checkpoints), "--public-key", f"{other}.pub")
    assert (code, report["code"]) == (1, "checkpoint_wrong_key")


def test_checkpoints_recorded_in_another_store_are_verified_against(
    ledger_url: str, key: Path, tmp_path: Path
) -> None:
    witness = str(tmp_path / "witness.db")
    with Ledger.open(ledger_url) as ledger:
        ledger.append(EVENTS)
        made = ledger.checkpoint(key, to_store=witness)
        assert made.seq == 5
        assert ledger.verify(against=[witness], public_key=f"{key}.pub").ok
        with pytest.raises(UsageError):
            ledger.checkpoint(key, to_store=ledger_url)
    truncate(ledger_url, 3)
    code, report, _ = _verify(ledger_url, "--against", witness)
    assert (code, report["code"]) == (1, "checkpoint_truncated")


def test_the_python_api_signs_and_checks_checkpoint_objects(ledger_url: str, key: Path) -> None:
    with Ledger.open(ledger_url) as ledger:
        empty = ledger.checkpoint(key)
        ledger.append(EVENTS)
        made = ledger.checkpoint(key)
        assert (empty.seq, made.seq) == (0, 5)
        again = Checkpoint.model_validate_json(made.line())
        report = ledger.verify(against=[empty, again], public_key=key)
        assert report.ok and report.checkpoints == 2
        bad = again.model_copy(update={"hash": "0" * 64})
        report = ledger.verify(against=[bad])
        assert (report.ok, report.code) == (False, "checkpoint_bad_signature")


def test_a_key_file_others_can_read_is_refused(ledger_url: str, key: Path) -> None:
    os.chmod(key, 0o644)
    Ledger.open(ledger_url).close()
    result = cli("checkpoint", "--key", str(key), "--db", ledger_url)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid_checkpoint: ") and "chmod 600" in result.stderr


@pytest.mark.parametrize(
    "content",
    ["not json\n", '{"seq": 1}\n', "\x00\xff", "\n"],
    ids=["text", "partial", "binary", "empty"],
)
def test_a_file_that_holds_no_checkpoints_is_invalid_checkpoint(
    ledger_url: str, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "checkpoints.jsonl"
    path.write_bytes(content.encode("latin-1"))
    Ledger.open(ledger_url).close()
    result = cli("verify", "--against", str(path), "--db", ledger_url)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: invalid_checkpoint: ")
    with Ledger.open(ledger_url) as ledger, pytest.raises(InvalidCheckpoint):
        ledger.verify(against=[path])


def test_checkpoint_without_a_key_is_a_usage_error(ledger_url: str) -> None:
    result = cli("checkpoint", "--db", ledger_url)
    assert result.exit_code == 2 and result.stderr.startswith("Error: usage_error: --key")
