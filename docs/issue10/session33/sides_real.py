"""Session 33: the side questions on real clips, through the app's Coach, for a model folder:

python docs/issue10/session33/sides_real.py [MODEL_DIR] > real/sides.txt
"""

import sys

from app.coach import Coach
from core.paths import REAL_DATA_DIR


def main() -> None:
    coach = Coach.load(sys.argv[1] if len(sys.argv) > 1 else None, threads=2)
    for clip in ("squats_3reps_holds.mp4", "pushups_side_5reps.mp4", "golf_swing_dtl.mp4"):
        s = coach.analyze(REAL_DATA_DIR / clip)
        for part in ("knee", "elbow"):
            q = f"Which {part} bends more, the left or the right?"
            line = s.report.side_lines([part])
            in_prompt = bool(line) and line[0] in (s.prompt_context(q) or "")
            print(f"{clip} | {q} | {s.ask(q).text!r} | measured {line} | in prompt {in_prompt}")
        s.close()
    coach.close()


if __name__ == "__main__":
    main()
