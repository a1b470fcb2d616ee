"""The ``--max-*`` flags of the prompt budgets (``core.llamo.prompts.PromptBudget``): one flag
per field, the same names, limits and words in the data engine and the evaluation."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from core.llamo.config import PROMPT_BUDGET_FIELDS
from core.llamo.prompts import BUDGET_LINES, BUDGET_MINIMUM, PromptBudget


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
        parser.add_argument(f"--{name.replace('_', '-')}", type=_count(BUDGET_MINIMUM.get(name, 0)),
                            default=default, metavar="N", help=text)  # fmt: skip


def budget_args(args: argparse.Namespace) -> dict[str, int | None]:
    """The parsed flags, by ``PromptBudget`` field."""
    return {name: getattr(args, name) for name in BUDGET_LINES}
