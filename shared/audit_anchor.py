"""The chain's head kept outside the database: an append-only file the worker writes after
each seal, and the same line printed for an auditor to keep. Deleting the newest events and
rewinding the head row cannot rewind these."""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path

PREFIX = "medtriage-audit-head"
LINE_RE = re.compile(
    rf"^{PREFIX} seq=(?P<seq>\d+) hash=(?P<hash>[0-9a-f]{{64}})"
    r"(?: at=(?P<at>\S+))?(?: key=(?P<key>[0-9a-f]{16}))?$"
)
SHORT_RE = re.compile(r"^(?P<seq>\d+):(?P<hash>[0-9a-f]{64})$")


@dataclass(frozen=True)
class Anchor:
    """The chain's head at one moment: event `seq` had hash `hash`."""

    seq: int
    hash: str
    at: str = ""
    key: str = ""
    source: str = ""

    def line(self) -> str:
        parts = [PREFIX, f"seq={self.seq}", f"hash={self.hash}"]
        if self.at:
            parts.append(f"at={self.at}")
        if self.key:
            parts.append(f"key={self.key}")
        return " ".join(parts)


def parse(text: str, source: str = "") -> Anchor | None:
    """A printed head line, or the short form SEQ:HASH; None when it is neither."""
    text = text.strip()
    match = LINE_RE.match(text) or SHORT_RE.match(text)
    if match is None:
        return None
    found = match.groupdict()
    return Anchor(
        int(found["seq"]), found["hash"], found.get("at") or "", found.get("key") or "", source
    )


def read(path: Path) -> tuple[list[Anchor], list[int]]:
    """Every head in the file and the numbers of lines that are not one (a damaged file)."""
    anchors, bad = [], []
    if not path.exists():
        return [], []
    with path.open(encoding="ascii", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            found = parse(text, f"{path.name} line {number}")
            if found is None:
                bad.append(number)
            else:
                anchors.append(found)
    return anchors, bad


def last_seq(path: Path) -> int:
    """The highest sequence number anchored so far (the file's tail is enough)."""
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        handle.seek(max(handle.tell() - 4096, 0))
        tail = handle.read().decode("ascii", errors="replace").splitlines()
    seqs = [a.seq for a in (parse(t) for t in tail) if a is not None]
    return max(seqs, default=0)


def append(path: Path, seq: int, hash_: str, key: str) -> Anchor:
    """Append one line (O_APPEND: a single short write is never interleaved)."""
    anchor = Anchor(seq, hash_, dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), key)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (anchor.line() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return anchor
