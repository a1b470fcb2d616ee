"""The training JSONL format, its validator, and a torch-free dataset for ``LLaMo.collate``.

One sample per line::

    {"motion": "motions/a.npz", "conversations": [{"from": "human", "value": "..."},
                                                  {"from": "gpt", "value": "..."}],
     "meta": {"qtypes": [...], "targets": [...], "activity": "squat", "split": "train"}}

Exactly one of ``"motion"`` (any file ``core.motion_io.load_motion`` reads) or ``"video"`` (a
clip; ``train.prepare`` turns it into a motion) is given, as a path relative to the JSONL
file's folder. ``conversations`` alternate human/gpt, starting with human and ending with
gpt. A ``gpt`` turn may add ``"moments": [[start_s, end_s], ...]``: the clip times (seconds;
an instant is ``[t, t]``) its answer refers to; they are the Cross Talker's grounding targets
and the evaluation's. ``meta`` is optional; ``meta["crops"]`` may name a ``.npy`` of person
crops (T, S, S, 3) uint8 written by ``train.prepare``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.errors import InputError
from core.motion import Motion
from core.motion_io import load_motion

ROLES = ("human", "gpt")
TURN_KEYS = frozenset({"from", "value"})
GPT_TURN_KEYS = TURN_KEYS | {"moments"}
KNOWN_KEYS = frozenset({"motion", "video", "conversations", "meta"})


@dataclass
class Sample:
    """One validated JSONL line; paths are absolute (resolved against the file's folder)."""

    conversations: list[dict[str, str]]
    motion: Path | None = None
    video: Path | None = None
    meta: dict = field(default_factory=dict)
    where: str = ""  # "file:line" for error messages

    def __post_init__(self) -> None:
        if (self.motion is None) == (self.video is None):
            raise ValueError("Sample: give exactly one of motion or video")
        check_conversations(self.conversations, self.where or "sample")

    def to_json(self, root: Path) -> dict:
        """The JSONL object with paths relative to ``root`` (the JSONL file's folder)."""
        key, path = ("motion", self.motion) if self.motion is not None else ("video", self.video)
        out: dict = {key: _relative(Path(path), root), "conversations": self.conversations}
        if self.meta:
            out["meta"] = self.meta
        return out


def _absolute(path: Path) -> Path:
    """Absolute and normalised, without following symlinks (a linked clip keeps its name)."""
    return Path(os.path.normpath(path.absolute()))


def _relative(path: Path, root: Path) -> str:
    try:
        return _absolute(path).relative_to(_absolute(root)).as_posix()
    except ValueError:
        return str(_absolute(path))


def check_conversations(conv: object, where: str) -> None:
    """Raise InputError unless ``conv`` alternates human/gpt turns with text, human first."""
    if not isinstance(conv, list) or not conv:
        raise InputError(f"{where}: 'conversations' must be a non-empty list of turns")
    for i, turn in enumerate(conv):
        allowed = (
            GPT_TURN_KEYS if isinstance(turn, dict) and turn.get("from") == "gpt" else TURN_KEYS
        )
        if not isinstance(turn, dict) or not TURN_KEYS <= set(turn) <= allowed:
            raise InputError(
                f"{where}: turn {i} must be an object with 'from' and 'value' (and, on a gpt "
                "turn, optionally 'moments')"
            )
        if turn["from"] not in ROLES:
            raise InputError(f"{where}: turn {i} has from={turn['from']!r}; use 'human' or 'gpt'")
        want = ROLES[i % 2]
        if turn["from"] != want:
            raise InputError(
                f"{where}: turns must alternate human/gpt starting with human; turn {i} is "
                f"{turn['from']!r} but should be {want!r}"
            )
        if not isinstance(turn["value"], str) or not turn["value"].strip():
            raise InputError(f"{where}: turn {i} has an empty or non-text 'value'")
        if "moments" in turn:
            check_moments(turn["moments"], f"{where}: turn {i}")
    if conv[-1]["from"] != "gpt":
        raise InputError(
            f"{where}: the last turn is a question with no answer; end with a 'gpt' turn"
        )


def check_moments(moments: object, where: str) -> list[tuple[float, float]]:
    """``[[start_s, end_s], ...]`` as (start, end) pairs, or InputError saying what is wrong."""
    if not isinstance(moments, list) or not moments:
        raise InputError(f"{where}: 'moments' must be a non-empty list of [start_s, end_s] pairs")
    out = []
    for pair in moments:
        ok = (
            isinstance(pair, list)
            and len(pair) == 2
            and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v < 1e5
                for v in pair
            )
        )
        if not ok or pair[1] < pair[0]:
            raise InputError(
                f"{where}: moment {pair!r} must be [start_s, end_s] with 0 <= start_s <= end_s "
                "(seconds of the clip; an instant is [t, t])"
            )
        out.append((float(pair[0]), float(pair[1])))
    return out


def turn_moments(conversations: list[dict]) -> list[list[tuple[float, float]]]:
    """Per gpt turn (in order), its moments (empty when the turn names none)."""
    return [check_moments(t["moments"], "moments") if "moments" in t else []
            for t in conversations if t["from"] == "gpt"]  # fmt: skip


def parse_sample(obj: object, root: Path, where: str, *, check_files: bool = True) -> Sample:
    """Validate one decoded JSONL object; errors start with ``where`` (file:line)."""
    if not isinstance(obj, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    unknown = set(obj) - KNOWN_KEYS
    if unknown:
        raise InputError(f"{where}: unknown keys {sorted(unknown)}; allowed: {sorted(KNOWN_KEYS)}")
    if "conversations" not in obj:
        raise InputError(f"{where}: missing key 'conversations'")
    has = [k for k in ("motion", "video") if k in obj]
    if len(has) != 1:
        what = "both" if has else "neither"
        raise InputError(f"{where}: has {what} of 'motion' and 'video'; give exactly one")
    key = has[0]
    if not isinstance(obj[key], str) or not obj[key]:
        raise InputError(f"{where}: '{key}' must be a non-empty path string")
    path = _absolute(root / obj[key])
    if check_files and not path.is_file():
        raise InputError(f"{where}: {key} file {obj[key]!r} not found (looked for {path})")
    meta = obj.get("meta", {})
    if not isinstance(meta, dict):
        raise InputError(f"{where}: 'meta' must be an object")
    check_conversations(obj["conversations"], where)
    return Sample(obj["conversations"], meta=meta, where=where, **{key: path})


def iter_json_lines(path: str | Path, what: str) -> Iterator[tuple[str, object]]:
    """(``file:line``, decoded object) for every non-blank line of a JSON-lines file; a bad
    line is an InputError naming the file and line. ``what`` names the file in messages."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such {what} file")
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{n}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{where}: bad JSON ({err.msg} at column {err.colno})") from None
        except RecursionError:
            raise InputError(
                f"{where}: JSON nested too deeply; one sample is a flat object"
            ) from None
        yield where, obj


def load_jsonl(
    path: str | Path, *, check_files: bool = True, root: Path | None = None
) -> list[Sample]:
    """Read and validate every line of a training JSONL file (blank lines are skipped).

    Paths are relative to the file's folder, or to ``root`` when given (``train.prepare``
    resolves a club's clip names against its clips folder)."""
    path = Path(path)
    root = Path(root) if root is not None else path.parent
    samples = [parse_sample(obj, root, where, check_files=check_files)
               for where, obj in iter_json_lines(path, "JSONL")]  # fmt: skip
    if not samples:
        raise InputError(f"{path}: the file has no samples")
    return samples


def write_jsonl(path: str | Path, samples: list[Sample]) -> Path:
    """Write samples with paths relative to the file's folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = path.parent
    with path.open("w") as f:
        for s in samples:
            f.write(json.dumps(s.to_json(root)) + "\n")
    return path


def prepared_motion_path(out_dir: Path, video: Path) -> Path:
    """Where ``train.prepare`` stores a clip's PoseTrack (``motions/<stem>.npz``)."""
    return Path(out_dir) / "motions" / f"{Path(video).stem}.npz"


WITH_FACTS = "@facts"
"""Suffix of a ``PerTurn`` repeat key that counts only the turns of dialogues with the
analytics facts in their prompt (``meta["context"]``): ``{"golf_phase@facts": 8}``."""


class PerTurn:
    """A view with one example per gpt turn: the dialogue up to that turn, trained on its last
    answer only (``last_turn_only``), so each answer is learnt with the viewpoints its own
    question picked (the Cross Talker reads the last question)."""

    def __init__(self, examples: MotionDataset, repeats: Mapping[str, int] | None = None) -> None:
        """``repeats``: question type (``meta.qtypes``) -> how many times its turns appear;
        ``TYPE@facts`` (``WITH_FACTS``) counts only its turns with facts, before ``TYPE``."""
        self.examples = examples
        repeats = repeats or {}
        self.index: list[tuple[int, int]] = []
        seen: set[str | None] = set()
        for i, s in enumerate(examples.samples):
            qtypes = s.meta.get("qtypes") or []
            facts = "context" in s.meta
            for k in range(sum(t["from"] == "gpt" for t in s.conversations)):
                qtype = qtypes[k] if k < len(qtypes) else None
                keys = [f"{qtype}{WITH_FACTS}", qtype] if facts else [qtype]
                times = next((repeats[key] for key in keys if key in repeats), 1)
                self.index += [(i, k)] * times
                seen.update(keys)
        if missing := sorted(set(repeats) - seen):
            raise ValueError(f"repeat_qtypes: no turn of the data has question type {missing}")

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, j: int) -> dict:
        i, k = self.index[j]
        ex = self.examples[i]
        return {**ex, "conversations": ex["conversations"][: 2 * (k + 1)],
                "moments": ex["moments"][k : k + 1], "last_turn_only": True}  # fmt: skip


class MotionDataset:
    """A list of ``{"motion": Motion, "conversations": [...], "video": crops | None}``
    examples for ``LLaMo.collate``. Motions load lazily on first access and stay cached.

    A ``video`` sample uses the PoseTrack ``train.prepare`` wrote (``prepared_dir``, default
    the JSONL folder); without one, run ``python -m train.prepare`` first.
    """

    def __init__(
        self, samples: list[Sample], *, prepared_dir: Path | None = None, load_crops: bool = True
    ):
        self.samples = list(samples)
        self.prepared_dir = prepared_dir
        self.load_crops = load_crops
        self._cache: dict[int, Motion] = {}

    @classmethod
    def from_jsonl(cls, path: str | Path, **kwargs: object) -> MotionDataset:
        path = Path(path)
        return cls(load_jsonl(path), prepared_dir=kwargs.pop("prepared_dir", path.parent), **kwargs)  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.samples)

    def motion(self, i: int) -> Motion:
        if i not in self._cache:
            s = self.samples[i]
            path = s.motion if s.motion is not None else self._prepared(s)
            try:
                self._cache[i] = load_motion(path)
            except ValueError as err:
                raise InputError(f"{s.where}: cannot load motion: {err}") from None
        return self._cache[i]

    def _prepared(self, s: Sample) -> Path:
        root = self.prepared_dir or (s.video.parent if s.video else Path("."))
        path = prepared_motion_path(root, s.video)  # type: ignore[arg-type]
        if not path.is_file():
            raise InputError(
                f"{s.where}: no prepared motion for {s.video}; run `python -m train.prepare` first"
            )
        return path

    def __getitem__(self, i: int) -> dict:
        s = self.samples[i]
        crops = None
        if self.load_crops and "crops" in s.meta:
            root = Path(s.where.rsplit(":", 1)[0]).parent if s.where else Path(".")
            crops = np.load(root / s.meta["crops"], allow_pickle=False)
        return {
            "motion": self.motion(i),
            "conversations": s.conversations,
            "video": crops,
            "meta": s.meta,
            "moments": turn_moments(s.conversations),
            "context": s.meta.get("context"),  # analytics facts for the prompt, as the app sends
        }
