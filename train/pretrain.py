"""Motion-encoder pretraining (no LLM): supervised heads on the synthetic motions' labels.

    python -m train.pretrain --data artifacts/synth2 --config train/configs/default.yaml \\
        --out runs/pretrain --minutes 15 [--resume]

The paper keeps its encoders frozen during instruction tuning; ours first has to learn
something. Heads on the motion encoder f_m (its (B, T, H) frame features):

* per frame: phase (golf setup/backswing/downswing/follow-through, baseball load/swing/
  follow-through, rep down/up, other), event frames (one softmax over time per golf or
  baseball event), joint angles and trunk lean (regression, degrees / 180), inside a fault
  window or not;
* per clip (masked mean of the frames): activity, camera view (2D views only: front, left,
  back, right), handedness, faults (multi-label).

Targets come from the synthesizer's labels (events, faults, activity, handedness, camera)
and ``core.analytics`` (angles, rep bottoms), mapped to the model's frames. The held-out
split's accuracies go to ``OUT/pretrain_report.json``; ``OUT/motion_encoder.safetensors``
holds the encoder (keys as in ``LLaMoModules``: ``motion_encoder.*``) for
``train.grounding`` and ``train.finetune`` (``init_motion_modules``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from core.analytics import GOLF_EVENTS, count_reps, joint_angles
from core.errors import InputError
from core.llamo.config import LLaMoConfig
from core.llamo.inputs import MotionInput, prepare_motion
from core.llamo.motion_encoder import MotionEncoder
from core.motion import Motion, Space
from train.synth import ACTIVITIES, FAULTS, SynthLabels

BASEBALL_EVENTS = ("stance", "load", "foot_plant", "contact", "finish")
EVENTS = tuple(f"golf_{e}" for e in GOLF_EVENTS) + tuple(f"baseball_{e}" for e in BASEBALL_EVENTS)
PHASES = ("other", "setup", "backswing", "downswing", "follow_through", "bb_load", "bb_swing",
          "bb_follow", "rep_down", "rep_up")  # fmt: skip
GOLF_SPANS = (("setup", "address", "toe_up"), ("backswing", "toe_up", "top"),
              ("downswing", "top", "impact"), ("follow_through", "impact", "finish"))  # fmt: skip
BASEBALL_SPANS = (("bb_load", "load", "foot_plant"), ("bb_swing", "foot_plant", "contact"),
                  ("bb_follow", "contact", "finish"))  # fmt: skip
ANGLES = ("left_knee", "right_knee", "left_elbow", "right_elbow", "left_hip", "right_hip",
          "left_shoulder", "right_shoulder", "spine_forward")  # fmt: skip
VIEWS = ("front", "left", "back", "right")
ACTIVITY_NAMES = tuple(ACTIVITIES)
FAULT_NAMES = tuple(sorted({f for names in FAULTS.values() for f in names}))
IGNORE = -100
ENCODER_FILE = "motion_encoder.safetensors"
HEADS_FILE = "pretrain_heads.safetensors"
REPORT_FILE = "pretrain_report.json"


# -- targets ------------------------------------------------------------------------------------
@dataclass
class ClipTargets:
    """One motion as model input plus its supervised targets (model frames)."""

    prepared: MotionInput
    angles: np.ndarray  # (T, A) degrees / 180, NaN where unknown
    phase: np.ndarray  # (T,) int, PHASES index
    events: np.ndarray  # (E,) model frame of each event, IGNORE when absent
    fault_frames: np.ndarray  # (T,) float 0/1
    activity: int
    view: int  # VIEWS index, IGNORE for 3D motions
    handed: int  # 0 right, 1 left
    faults: np.ndarray  # (F,) multi-hot


def _model_frame(prepared: MotionInput, frame: int) -> int:
    """Model frame nearest to an original frame."""
    return int(np.abs(prepared.source_frames - int(frame)).argmin())


def _view(labels: SynthLabels, motion: Motion) -> int:
    if motion.space is not Space.IMAGE_NORMALIZED:
        return IGNORE
    az = float(labels.params.get("camera", {}).get("azimuth_deg", 0.0))
    return int(((az + 45.0) % 360.0) // 90.0)  # 0 front, 1 left, 2 back, 3 right


def frame_phases(
    labels: SynthLabels, motion: Motion, to_frame: Callable[[int], int], length: int
) -> tuple[np.ndarray, list[int]]:
    """(phase (length,) PHASES index, rep bottoms) on the frames ``to_frame`` maps the
    motion's frames to (the model's frames for the heads, the motion's own for
    ``train.token_words``)."""
    phase = np.zeros(length, dtype=np.int64)
    bottoms: list[int] = []
    ev = labels.events
    spans = GOLF_SPANS if labels.activity == "golf_swing" else BASEBALL_SPANS
    if labels.activity in ("golf_swing", "baseball_swing"):
        for name, a, b in spans:
            if a in ev and b in ev:
                phase[to_frame(ev[a]) : to_frame(ev[b])] = PHASES.index(name)
    elif labels.reps:
        try:
            reps = count_reps(motion, labels.activity).reps
        except (InputError, KeyError, ValueError):
            reps = []
        for r in reps:
            lo, mid, hi = to_frame(r.start), to_frame(r.peak_frame), to_frame(r.end)
            phase[lo:mid] = PHASES.index("rep_down")
            phase[mid : hi + 1] = PHASES.index("rep_up")
            bottoms.append(mid)
    return phase, bottoms


def _phases(prepared: MotionInput, labels: SynthLabels, motion: Motion) -> np.ndarray:
    length = prepared.feats.shape[0]
    return frame_phases(labels, motion, lambda f: _model_frame(prepared, f), length)[0]


def clip_targets(motion: Motion, labels: SynthLabels, config: LLaMoConfig) -> ClipTargets:
    """Model input and every head's target for one synthetic motion."""
    prepared = prepare_motion(motion, config)
    src = prepared.source_frames
    series = joint_angles(motion)
    angles = np.stack([np.asarray(series[a], dtype=np.float64)[src] for a in ANGLES], axis=1)
    events = np.full(len(EVENTS), IGNORE, dtype=np.int64)
    prefix = "golf_" if labels.activity == "golf_swing" else "baseball_"
    for name, frame in labels.events.items():
        if prefix + name in EVENTS:
            events[EVENTS.index(prefix + name)] = _model_frame(prepared, frame)
    fault_frames = np.zeros(len(src), dtype=np.float32)
    faults = np.zeros(len(FAULT_NAMES), dtype=np.float32)
    for f in labels.faults:
        faults[FAULT_NAMES.index(f.name)] = 1.0
        fault_frames[(src >= f.start_frame) & (src <= f.end_frame)] = 1.0
    return ClipTargets(
        prepared, (angles / 180.0).astype(np.float32), _phases(prepared, labels, motion), events,
        fault_frames, ACTIVITY_NAMES.index(labels.activity), _view(labels, motion),
        int(labels.handedness == "left"), faults,
    )  # fmt: skip


def crop(clip: ClipTargets, length: int, rng: np.random.Generator) -> ClipTargets:
    """A random window of at most ``length`` frames (training cost grows with T; events
    outside the window become IGNORE)."""
    t = clip.prepared.feats.shape[0]
    if t <= length:
        return clip
    a = int(rng.integers(0, t - length + 1))
    p = clip.prepared
    sub = MotionInput(p.feats[a : a + length], p.frame_mask[a : a + length], p.is_3d,
                      p.timestamps[a : a + length], p.fps, p.source_frames[a : a + length], p.source)  # fmt: skip
    ev = clip.events - a
    events = np.where((clip.events != IGNORE) & (ev >= 0) & (ev < length), ev, IGNORE)
    return replace(clip, prepared=sub, angles=clip.angles[a : a + length],
                   phase=clip.phase[a : a + length], events=events,
                   fault_frames=clip.fault_frames[a : a + length])  # fmt: skip


def load_clips(jsonl: Path, config: LLaMoConfig, limit: int | None = None) -> list[ClipTargets]:
    """One ClipTargets per distinct motion of a make_dataset JSONL (labels from ``meta``)."""
    from train.data import load_jsonl

    seen, out = set(), []
    samples = [s for s in load_jsonl(jsonl) if "labels" in s.meta]
    for s in tqdm(samples, desc=f"targets {jsonl.name}", unit="line", leave=False, mininterval=10):
        if s.motion in seen:
            continue
        seen.add(s.motion)
        from core.motion_io import load_motion

        out.append(
            clip_targets(load_motion(s.motion), SynthLabels.from_dict(s.meta["labels"]), config)
        )
        if limit and len(out) >= limit:
            break
    return out


# -- model ----------------------------------------------------------------------------------------
class PretrainHeads(nn.Module):
    """Linear heads on f_m's frame features and on their masked mean."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.phase = nn.Linear(hidden, len(PHASES))
        self.event = nn.Linear(hidden, len(EVENTS))
        self.angle = nn.Linear(hidden, len(ANGLES))
        self.fault_frame = nn.Linear(hidden, 1)
        self.activity = nn.Linear(hidden, len(ACTIVITY_NAMES))
        self.view = nn.Linear(hidden, len(VIEWS))
        self.handed = nn.Linear(hidden, 2)
        self.faults = nn.Linear(hidden, len(FAULT_NAMES))

    def forward(self, x: Tensor, mask: Tensor) -> dict[str, Tensor]:
        """x (B, T, H), mask (B, T) bool -> logits per head."""
        w = mask[..., None].to(x.dtype)  # (B, T, 1)
        pooled = (x * w).sum(1) / w.sum(1).clamp_min(1.0)  # (B, H)
        event = self.event(x).masked_fill(~mask[..., None], -30.0)  # (B, T, E)
        return {
            "phase": self.phase(x), "event": event, "angle": self.angle(x),
            "fault_frame": self.fault_frame(x)[..., 0], "activity": self.activity(pooled),
            "view": self.view(pooled), "handed": self.handed(pooled), "faults": self.faults(pooled),
        }  # fmt: skip


def collate(clips: list[ClipTargets]) -> dict[str, Tensor]:
    """Pad a list of clips to the longest T (padding is masked / IGNORE)."""
    b, t = len(clips), max(c.prepared.feats.shape[0] for c in clips)
    c0 = clips[0].prepared.feats.shape[-1]
    out = {
        "feats": torch.zeros(b, t, 33, c0), "mask": torch.zeros(b, t, dtype=torch.bool),
        "angle": torch.full((b, t, len(ANGLES)), float("nan")),
        "phase": torch.full((b, t), IGNORE, dtype=torch.long),
        "fault_frame": torch.zeros(b, t),
    }  # fmt: skip
    for i, c in enumerate(clips):
        n = c.prepared.feats.shape[0]
        out["feats"][i, :n] = torch.from_numpy(c.prepared.feats)
        out["mask"][i, :n] = torch.from_numpy(c.prepared.frame_mask)
        out["angle"][i, :n] = torch.from_numpy(c.angles)
        out["phase"][i, :n] = torch.from_numpy(c.phase)
        out["fault_frame"][i, :n] = torch.from_numpy(c.fault_frames)
    out["is_3d"] = torch.tensor([c.prepared.is_3d for c in clips])
    for key in ("events", "faults"):
        out[key] = torch.from_numpy(np.stack([getattr(c, key) for c in clips]))
    for key in ("activity", "view", "handed"):
        out[key] = torch.tensor([getattr(c, key) for c in clips], dtype=torch.long)
    return out


def losses(logits: dict[str, Tensor], batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """One loss per head (each about unit scale at the start)."""
    mask = batch["mask"]
    phase_t = batch["phase"].masked_fill(~mask, IGNORE)
    angle_t = batch["angle"]
    ok = torch.isfinite(angle_t) & mask[..., None]  # (B, T, A)
    angle = (logits["angle"] - angle_t.nan_to_num()).abs()[ok].mean() * 10.0
    ev = logits["event"].transpose(1, 2)  # (B, E, T): one softmax over time per event
    out = {
        "phase": F.cross_entropy(logits["phase"].transpose(1, 2), phase_t, ignore_index=IGNORE),
        "angle": angle,
        "fault_frame": F.binary_cross_entropy_with_logits(
            logits["fault_frame"][mask], batch["fault_frame"][mask]),
        "activity": F.cross_entropy(logits["activity"], batch["activity"]),
        "handed": F.cross_entropy(logits["handed"], batch["handed"]),
        "faults": F.binary_cross_entropy_with_logits(logits["faults"], batch["faults"]),
    }  # fmt: skip
    events = batch["events"]  # (B, E) model frames
    # An event on a frame the model masks (body hidden) cannot be picked: ignore it.
    on_mask = mask.gather(1, events.clamp_min(0).clamp_max(mask.shape[1] - 1))  # (B, E)
    events = events.masked_fill(~on_mask, IGNORE)
    if (events != IGNORE).any():
        out["event"] = F.cross_entropy(ev.reshape(-1, ev.shape[-1]), events.reshape(-1),
                                       ignore_index=IGNORE)  # fmt: skip
    if (batch["view"] != IGNORE).any():
        out["view"] = F.cross_entropy(logits["view"], batch["view"], ignore_index=IGNORE)
    return out


# -- evaluation -------------------------------------------------------------------------------------
@torch.no_grad()
def evaluate(encoder: MotionEncoder, heads: PretrainHeads, clips: list[ClipTargets],
             fps: float, batch_size: int = 16) -> dict:  # fmt: skip
    """Held-out accuracy of every head (n with each figure)."""
    encoder.eval(), heads.eval()
    acc: dict[str, list[float]] = {k: [] for k in ("activity", "view", "handed", "faults_exact",
                                                   "phase", "fault_frame")}  # fmt: skip
    ev_err: list[float] = []
    ang_err: list[np.ndarray] = []
    for i in range(0, len(clips), batch_size):
        batch = collate(clips[i : i + batch_size])
        x = encoder(batch["feats"], batch["mask"], batch["is_3d"])
        lo = heads(x, batch["mask"])
        mask = batch["mask"]
        for key in ("activity", "handed"):
            acc[key] += (lo[key].argmax(-1) == batch[key]).float().tolist()
        has_view = batch["view"] != IGNORE
        acc["view"] += (lo["view"].argmax(-1) == batch["view"])[has_view].float().tolist()
        acc["faults_exact"] += (
            ((lo["faults"] > 0).float() == batch["faults"]).all(-1).float().tolist()
        )
        ph = mask & (batch["phase"] != IGNORE)
        acc["phase"] += (lo["phase"].argmax(-1) == batch["phase"])[ph].float().tolist()
        acc["fault_frame"] += (
            ((lo["fault_frame"] > 0).float() == batch["fault_frame"])[mask].float().tolist()
        )
        pred = lo["event"].argmax(1)  # (B, E)
        known = batch["events"] != IGNORE
        ev_err += (pred - batch["events"]).abs()[known].float().tolist()
        err = (lo["angle"] - batch["angle"]).abs() * 180.0
        ok = torch.isfinite(err) & mask[..., None]
        ang_err.append(torch.where(ok, err, torch.nan).reshape(-1, err.shape[-1]).numpy())
    encoder.train(), heads.train()
    angles = np.concatenate(ang_err)
    ev = np.array(ev_err)
    report = {
        k: {"accuracy": float(np.mean(v)) if v else None, "n": len(v)} for k, v in acc.items()
    }
    report["event"] = {"mean_abs_error_s": float(ev.mean() / fps) if ev.size else None,
                       "within_0.15s": float((ev / fps <= 0.15).mean()) if ev.size else None,
                       "n": int(ev.size)}  # fmt: skip
    report["angles_mae_deg"] = {a: float(np.nanmean(angles[:, j])) for j, a in enumerate(ANGLES)}
    report["n_clips"] = len(clips)
    return report


# -- training -----------------------------------------------------------------------------------------
def save_state(
    out: Path, encoder: nn.Module, heads: nn.Module, opt, step: int, seconds: float
) -> None:
    from safetensors.torch import save_model

    out.mkdir(parents=True, exist_ok=True)
    save_model(encoder, str(out / "encoder.tmp"))
    save_model(heads, str(out / "heads.tmp"))
    torch.save(opt.state_dict(), out / "optimizer.tmp")
    (out / "encoder.tmp").replace(out / "state_encoder.safetensors")
    (out / "heads.tmp").replace(out / HEADS_FILE)
    (out / "optimizer.tmp").replace(out / "optimizer.pt")
    (out / "pretrain_state.json").write_text(json.dumps({"step": step, "seconds": seconds}))


def export_encoder(out: Path, encoder: nn.Module) -> Path:
    """The encoder with ``LLaMoModules`` key names (``motion_encoder.*``)."""
    from safetensors.torch import save_file

    state = {
        f"motion_encoder.{k}": v.detach().contiguous() for k, v in encoder.state_dict().items()
    }
    save_file(state, str(out / ENCODER_FILE))
    return out / ENCODER_FILE


def run(data: Path, config: LLaMoConfig, out: Path, *, minutes: float, batch_size: int = 16,
        lr: float = 1e-3, resume: bool = False, seed: int = 0, max_heldout: int = 150,
        crop_frames: int = 96, max_clips: int | None = None) -> dict:  # fmt: skip
    """Train until ``minutes`` of wall time (over all resumes) are spent; returns the report."""
    from safetensors.torch import load_model

    torch.manual_seed(seed)
    train = load_clips(data / "train.jsonl", config, limit=max_clips)
    held = load_clips(data / "heldout.jsonl", config, limit=max_heldout)
    encoder, heads = MotionEncoder(config), PretrainHeads(config.hidden_size)
    opt = torch.optim.AdamW([*encoder.parameters(), *heads.parameters()], lr=lr, weight_decay=0.01)
    step, seconds = 0, 0.0
    if resume and (out / "pretrain_state.json").is_file():
        load_model(encoder, str(out / "state_encoder.safetensors"))
        load_model(heads, str(out / HEADS_FILE))
        opt.load_state_dict(torch.load(out / "optimizer.pt", weights_only=True))
        state = json.loads((out / "pretrain_state.json").read_text())
        step, seconds = state["step"], state["seconds"]
    rng = np.random.default_rng(seed + step)
    start = time.perf_counter() - seconds
    bar = tqdm(desc="pretrain", unit="step", initial=step, mininterval=10)
    while time.perf_counter() - start < minutes * 60:
        idx = rng.choice(len(train), size=min(batch_size, len(train)), replace=False)
        batch = collate([crop(train[i], crop_frames, rng) for i in idx])
        x = encoder(batch["feats"], batch["mask"], batch["is_3d"])
        parts = losses(heads(x, batch["mask"]), batch)
        loss = sum(parts.values())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*encoder.parameters(), *heads.parameters()], 1.0)
        opt.step()
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{float(loss):.3f}")
        if step % 50 == 0:
            save_state(out, encoder, heads, opt, step, time.perf_counter() - start)
    bar.close()
    save_state(out, encoder, heads, opt, step, time.perf_counter() - start)
    export_encoder(out, encoder)
    report = {"step": step, "seconds": round(time.perf_counter() - start, 1),
              "n_train_clips": len(train), "heldout": evaluate(encoder, heads, held, config.fps)}  # fmt: skip
    (out / REPORT_FILE).write_text(json.dumps(report, indent=1))
    return report


@torch.no_grad()
def predict_events(motion: Motion, config: LLaMoConfig, folder: Path) -> dict[str, float]:
    """The event head's frame (clip seconds) for every golf and baseball event of a motion,
    with the encoder and heads saved in ``folder`` (for real clips: no labels needed)."""
    from safetensors.torch import load_model

    encoder, heads = MotionEncoder(config), PretrainHeads(config.hidden_size)
    load_model(encoder, str(folder / "state_encoder.safetensors"))
    load_model(heads, str(folder / HEADS_FILE))
    encoder.eval(), heads.eval()
    p = prepare_motion(motion, config)
    feats = torch.from_numpy(p.feats)[None]  # (1, T, 33, C)
    mask = torch.from_numpy(p.frame_mask)[None]  # (1, T)
    x = encoder(feats, mask, torch.tensor([p.is_3d]))
    frames = heads(x, mask)["event"][0].argmax(0)  # (E,) model frames
    return {e: float(p.timestamps[int(f)]) for e, f in zip(EVENTS, frames, strict=True)}


def model_config(path: Path, overrides: list[str]) -> LLaMoConfig:
    """The ``LLaMoConfig`` of a training YAML (``model:`` block, with ``--set`` overrides)."""
    from train.finetune import TrainConfig

    return TrainConfig.from_yaml(path, overrides).llamo_config()


def cli(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        prog="python -m train.pretrain", description=__doc__.split("\n\n")[0]
    )
    ap.add_argument("--data", type=Path, required=True, help="make_dataset folder")
    ap.add_argument("--config", type=Path, required=True, help="training YAML (its model block)")
    ap.add_argument(
        "--set", action="append", default=[], help="override, e.g. model.hidden_size=64"
    )
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument(
        "--max-clips", type=int, default=None, help="use only the first N training motions"
    )
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    config = model_config(a.config, a.set)
    report = run(a.data, config, a.out, minutes=a.minutes, batch_size=a.batch_size, lr=a.lr,
                 resume=a.resume, max_clips=a.max_clips)  # fmt: skip
    print(json.dumps(report["heldout"], indent=1))


if __name__ == "__main__":
    cli()
