"""Session 34: how far the golf swing-length and tempo targets (the analytics' events) lie from
the synthesizer's labels on a held-out set's golf clips:

python docs/issue10/session34/golf_targets.py artifacts/synth42/heldout.jsonl [...]
"""

import sys

import numpy as np

from core.motion_io import load_motion
from train.data import load_jsonl
from train.qa import measure
from train.synth import SynthLabels

LENGTH_TOLERANCE_S, TEMPO_TOLERANCE = 0.25, 0.5  # the targets' own (train.qa)


def main(paths: list[str]) -> None:
    for path in paths:
        seen, address, length_ok, tempo_ok = set(), [], 0, 0
        for s in load_jsonl(path):
            if s.motion in seen or s.meta["activity"] != "golf_swing":
                continue
            seen.add(s.motion)
            labels = SynthLabels.from_dict(s.meta["labels"])
            f = measure(load_motion(s.motion), labels)
            if f.golf is None:
                continue
            got, true = f.golf.times, {e: f.t(i) for e, i in labels.events.items()}
            address.append(got["address"] - true["address"])
            length = (got["finish"] - got["address"]) - (true["finish"] - true["address"])
            length_ok += abs(length) <= LENGTH_TOLERANCE_S
            true_tempo = (true["top"] - true["address"]) / (true["impact"] - true["top"])
            tempo_ok += abs(f.golf.tempo - true_tempo) <= TEMPO_TOLERANCE
        lag = np.array(address)
        print(f"{path}: {len(lag)} golf clips; address after the labels' by {np.median(lag):.2f} s "
              f"(median), p90 {np.percentile(lag, 90):.2f} s; swing length within "
              f"{LENGTH_TOLERANCE_S} s on {length_ok}, tempo within {TEMPO_TOLERANCE} on {tempo_ok}")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:])
