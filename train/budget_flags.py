"""The ``--max-*`` flags of the prompt budgets (``core.llamo.prompts.PromptBudget``): one flag
per field, the same names, limits and words in the data engine and the evaluation.

    python -m train.budget_flags [MODEL_DIR]   # the flags that build prompts with its budgets
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from core.llamo.config import PROMPT_BUDGET_FIELDS
from core.llamo.prompts import BUDGET_LINES, BUDGET_MINIMUM, PromptBudget


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"  # max_facts -> --max-facts


def _count(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


def add_budget_flags(parser: argparse.ArgumentParser, *, per_model: bool) -> None:
    """``--max-facts``, ``--max-moments``, ...: with ``per_model`` (the evaluation) each defaults
    to None, meaning each model's own config value; otherwise (the data engine) to
    ``PromptBudget``'s default, and the help names the config field a model trained on the
    lines needs."""
    defaults = PromptBudget()
    for name, lines in BUDGET_LINES.items():
        field = PROMPT_BUDGET_FIELDS[name]
        if per_model:
            default, text = None, f"with @facts: at most N {lines} (default: each model's {field})"
        else:
            default = getattr(defaults, name)
            text = (f"per prompt, at most N {lines}; a model trained on them needs "
                    f"model.{field}: N (default {default})")  # fmt: skip
        parser.add_argument(_flag(name), type=_count(BUDGET_MINIMUM.get(name, 0)),
                            default=default, metavar="N", help=text)  # fmt: skip


def budget_args(args: argparse.Namespace) -> dict[str, int | None]:
    """The parsed flags, by ``PromptBudget`` field."""
    return {name: getattr(args, name) for name in BUDGET_LINES}


def flags_of(budget: PromptBudget) -> list[str]:
    """The flags that give ``budget``: ``["--max-facts", "10", "--max-moments", "3", ...]``."""
    return [part for name in BUDGET_LINES for part in (_flag(name), str(getattr(budget, name)))]


def main(argv: Sequence[str] | None = None) -> int:
    """Prints the data-engine flags of a saved model's prompt budgets (the GPU recipe builds its
    set with them, so the prompts are the ones the app gives that model)."""
    from core.paths import DEFAULT_MODEL_DIR
    from train.evaluate import prompt_budget

    ap = argparse.ArgumentParser(prog="python -m train.budget_flags", description=main.__doc__)
    ap.add_argument("model", nargs="?", type=Path, default=DEFAULT_MODEL_DIR)
    a = ap.parse_args(argv)
    if not (a.model / "config.json").is_file():
        ap.error(f"{a.model}: no config.json here; give a saved LLaMo model folder")
    print(" ".join(flags_of(prompt_budget(a.model))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
