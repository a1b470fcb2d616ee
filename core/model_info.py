"""Which model is loaded: name, where it came from, when it was trained.

``train.finetune`` writes ``model_info.json`` into every model folder it saves; the app and
the CLI read it (torch-free) to say which model answers. A folder without the file (an older
model) still gets a description: its folder name, and the time its weights were written.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

INFO_FILE = "model_info.json"
WEIGHTS_FILE = "motion_modules.safetensors"  # its mtime dates a folder without INFO_FILE


@dataclass(frozen=True)
class ModelInfo:
    """What the user is told about a model folder."""

    name: str
    source: str  # how it was made, e.g. "fine-tuned from default on data/club/train.jsonl"
    trained_at: str  # ISO 8601 UTC, or "unknown"
    folder: str = ""

    def label(self, folder: bool = True) -> str:
        """One line: ``club (fine-tuned from ...; trained 2026-11-30 12:10 UTC) at DIR``."""
        when = self.trained_at.replace("T", " ").replace("Z", " UTC")
        where = f" at {self.folder}" if self.folder and folder else ""
        return f"{self.name} ({self.source}; trained {when}){where}"


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())


def write_model_info(folder: str | Path, name: str, source: str, trained_at: str = "") -> Path:
    """Write ``model_info.json`` into a saved model folder."""
    info = {"name": name, "source": source, "trained_at": trained_at or utc_now()}
    path = Path(folder) / INFO_FILE
    path.write_text(json.dumps(info, indent=2) + "\n")
    return path


def read_model_info(folder: str | Path) -> ModelInfo:
    """The folder's ``model_info.json``, or a description made from the folder itself."""
    folder = Path(folder)
    path = folder / INFO_FILE
    if path.is_file():
        try:
            data = json.loads(path.read_text())
            return ModelInfo(str(data["name"]), str(data["source"]), str(data["trained_at"]),
                             str(folder))  # fmt: skip
        except (json.JSONDecodeError, KeyError, TypeError):
            pass  # a damaged info file must not stop the app: describe the folder instead
    weights = folder / WEIGHTS_FILE
    when = (
        time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime(weights.stat().st_mtime))
        if weights.is_file()
        else "unknown"
    )
    return ModelInfo(folder.name, "no model_info.json", when, str(folder))
