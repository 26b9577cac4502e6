"""Import HL7 v2 ADT files: one or more messages a file, any segment separator.

Each message goes in on its own (stored, then applied, each committed): a bad message is reported with
its file, message number and field, and the rest of the file still goes in.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from carenav.access import Actor
from carenav.feeds.rules import AckCode, MessageStatus
from carenav.ingest.hl7v2.framing import decode, split_messages
from carenav.ingest.hl7v2.intake import IntakeContext, IntakeResult, intake_context, message_receive
from carenav.settings import get_settings


@dataclass
class FileOutcome:
    path: str
    results: list[IntakeResult] = field(default_factory=list)
    error: str | None = None  # the file itself could not be read or held no message

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "error": self.error,
            "messages": [result.as_json() for result in self.results],
        }


@dataclass
class Hl7ImportSummary:
    """What an import did: per file, per message; counts by outcome."""

    files: list[FileOutcome] = field(default_factory=list)

    @property
    def counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for outcome in self.files:
            if outcome.error:
                counts["file_errors"] += 1
            for result in outcome.results:
                counts["messages"] += 1
                counts["duplicates" if result.duplicate else result.status.value] += 1
        return counts

    @property
    def ok(self) -> bool:
        """No file error and no message refused or failed (unmatched messages wait for a person: ok)."""
        return all(
            outcome.error is None and all(r.ack is AckCode.ACCEPT for r in outcome.results)
            for outcome in self.files
        )

    def as_json(self) -> dict[str, Any]:
        counts = self.counts
        keys = [
            "messages",
            *[s.value for s in MessageStatus if s is not MessageStatus.RECEIVED],
            "duplicates",
        ]
        return {
            "ok": self.ok,
            "counts": {key: counts[key] for key in [*keys, "file_errors"]},
            "files": [outcome.as_json() for outcome in self.files],
        }

    def as_text(self) -> str:
        counts = self.counts
        lines = [
            f"{counts['messages']} messages: {counts['applied']} applied, {counts['unmatched']} unmatched "
            f"(waiting in 'carenav feeds unmatched'), {counts['duplicates']} duplicates, "
            f"{counts['rejected']} rejected, {counts['error']} errors"
        ]
        for outcome in self.files:
            if outcome.error:
                lines.append(f"{outcome.path}: {outcome.error}")
            for result in outcome.results:
                if result.error:
                    lines.append(f"{result.where or outcome.path}: {result.status.value}: {result.error}")
        return "\n".join(lines)


def hl7_files_import(
    *,
    sessions: sessionmaker[Session],
    actor: Actor,
    paths: Iterable[str | Path],
    max_message_bytes: int | None = None,
) -> Hl7ImportSummary:
    """Import the ADT messages of ``paths`` for the actor's organization. Commits per message."""
    context = intake_context(
        sessions=sessions,
        actor=actor,
        channel="file",
        max_message_bytes=max_message_bytes or get_settings().max_hl7_message_bytes,
    )
    summary = Hl7ImportSummary()
    for path in paths:
        summary.files.append(_file_import(context, Path(path)))
    return summary


def _file_import(context: IntakeContext, path: Path) -> FileOutcome:
    outcome = FileOutcome(str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        outcome.error = f"cannot read the file: {exc.strerror or exc}"
        return outcome
    messages = split_messages(decode(data))
    if not messages:
        outcome.error = "the file holds no HL7 message"
        return outcome
    for raw in messages:
        outcome.results.append(message_receive(context=context, raw=raw, origin=str(path)))
    return outcome
