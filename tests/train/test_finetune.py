"""train.finetune: config validation, data order, a real tiny training run, exact resume,
atomic checkpoints, and the 2-process CPU launch (slow).

The LLM is a tiny random Llama with a BPE tokenizer trained here, saved as a normal
Hugging Face folder and loaded through ``core.llamo.llm.load_llm`` like the real one.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from safetensors import safe_open
from safetensors.torch import load_file

from core.llamo.prompts import system_prompt
from core.motion_io import save_motion
from train import finetune
from train.finetune import (
    TrainConfig,
    apply_override,
    atomic_dir,
    epoch_order,
    lr_factor,
    step_indices,
    train,
)

REPO = Path(__file__).resolve().parents[2]
TINY_YAML = REPO / "train" / "configs" / "tiny.yaml"
ACTIVITIES = ("squat", "curl", "jumping_jack", "lunge")


RECIPES = sorted((REPO / "train" / "configs").glob("*.yaml"))


@pytest.mark.parametrize("recipe", RECIPES, ids=[p.stem for p in RECIPES])
def test_every_shipped_recipe_parses(recipe: Path) -> None:
    """Each recipe validates (its fields, stages, repeat_qtypes) against the shipped model's
    architecture; a recipe continuing a run starts from the default model here (CI has no runs/)."""
    data = yaml.safe_load(recipe.read_text()) or {}
    start = [] if data.get("init_from") == "scratch" else ["init_from=default"]
    cfg = TrainConfig.from_yaml(recipe, ["train_data=x.jsonl", *start])
    assert cfg.stages and all(stage.steps > 0 for stage in cfg.stages)


def test_train_cpu_script_names_only_existing_recipes() -> None:
    script = (REPO / "scripts" / "train_cpu.sh").read_text()
    named = set(re.findall(r"train/configs/[\w.]+\.yaml", script))
    assert "train/configs/cpu_s13.yaml" in named
    assert not [n for n in named if not (REPO / n).is_file()]


# -- fixtures: a tiny LLM and a handful of labelled synthetic clips -------------------------------
def make_tiny_llm(folder: Path, texts: list[str]) -> Path:
    """A 2-layer random Llama and a 400-token byte-level BPE trained on ``texts``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator([system_prompt(), "user assistant system", *texts], trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=bpe, eos_token="<|im_end|>", pad_token="<|endoftext|>"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=2048,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, tie_word_embeddings=True,
    )  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def make_examples(folder: Path, n: int, seed: int = 0) -> list[dict]:
    """``n`` JSONL records (rep-count and rep-timing questions) with their motion files."""
    from train.synth import synthesize

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    records = []
    for i in range(n):
        activity = ACTIVITIES[i % len(ACTIVITIES)]
        sample = synthesize(activity, rng, fps=20.0, reps=int(rng.integers(1, 4)))
        path = save_motion(sample.motion3d, folder / f"clip{i:03d}.npz")
        reps = sample.labels.reps
        start, end = (f / 20.0 for f in reps[0])
        records.append({
            "motion": str(path),
            "conversations": [
                {"from": "human", "value": "How many reps did I do?"},
                {"from": "gpt", "value": f"You did {len(reps)} reps."},
                {"from": "human", "value": "When was the first rep?"},
                {"from": "gpt", "value": f"From {start:.2f} s to {end:.2f} s."},
            ],
            "meta": {"activity": activity, "reps": len(reps), "labels": sample.labels.to_dict()},
        })  # fmt: skip
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("finetune")
    records = make_examples(root / "clips", 8)
    texts = [t["value"] for r in records for t in r["conversations"]]
    llm = make_tiny_llm(root / "llm", texts)
    return {"root": root, "llm": llm, "train": write_jsonl(root / "train.jsonl", records)}


def tiny_config(assets: dict, *extra: str) -> TrainConfig:
    """tiny.yaml pointed at the test data and the tiny LLM, plus ``extra`` overrides."""
    sets = [f"train_data={assets['train']}", f"model.llm={assets['llm']}", *extra]
    return TrainConfig.from_yaml(TINY_YAML, sets)


def module_weights(model_dir: Path) -> dict[str, torch.Tensor]:
    """Every trained tensor in a saved model folder (motion modules + LoRA adapter)."""
    out = {f"m.{k}": v for k, v in load_file(model_dir / "motion_modules.safetensors").items()}
    lora = model_dir / "lora" / "adapter_model.safetensors"
    if lora.is_file():
        out |= {f"lora.{k}": v for k, v in load_file(lora).items()}
    return out


# -- pure pieces ------------------------------------------------------------------------------------
def test_epoch_order_and_step_indices_are_pure_and_cover_every_example() -> None:
    assert np.array_equal(epoch_order(10, 3, 1), epoch_order(10, 3, 1))
    assert not np.array_equal(epoch_order(10, 3, 0), epoch_order(10, 3, 1))
    # 4 steps of 5 over 10 examples = two full epochs, each a permutation
    seen = [step_indices(s, 10, 5, seed=3) for s in range(4)]
    assert sorted(seen[0] + seen[1]) == list(range(10))
    assert sorted(seen[2] + seen[3]) == list(range(10))
    assert seen[0] + seen[1] == epoch_order(10, 3, 0).tolist()
    # a step straddling an epoch boundary takes the tail of one and the head of the next
    assert step_indices(1, 10, 7, seed=3) == (
        epoch_order(10, 3, 0)[7:].tolist() + epoch_order(10, 3, 1)[:4].tolist()
    )


def test_lr_factor_warms_up_then_decays_to_the_floor() -> None:
    factors = [lr_factor(s, warmup=2, total=10, min_ratio=0.1) for s in range(10)]
    assert factors[0] == pytest.approx(0.5) and factors[1] == pytest.approx(1.0)
    assert factors[2] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[2:], factors[3:], strict=False))
    assert lr_factor(10, 2, 10, 0.1) == pytest.approx(0.1)


def test_apply_override_sets_nested_keys_and_list_items() -> None:
    data = {"model": {"fusion": "cross_talker"}, "stages": [{"steps": 1}, {"steps": 2}]}
    apply_override(data, "model.fusion=all_frames")
    apply_override(data, "stages.1.steps=7")
    apply_override(data, "model.use_timestamps=false")
    assert data["model"] == {"fusion": "all_frames", "use_timestamps": False}
    assert data["stages"][1]["steps"] == 7
    with pytest.raises(ValueError, match="KEY=VALUE"):
        apply_override(data, "model.fusion")
    with pytest.raises(ValueError, match="not an index"):
        apply_override(data, "stages.5.steps=1")


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ("batch_size=0", "batch_size"),
        ("grad_accum=-1", "grad_accum"),
        ("stages.0.lr=-0.1", "stages.lr"),
        ("stages.0.warmup_steps=-1", "stages.warmup_steps"),
        ("init_from=no/such/folder", "init_from"),
        ("stages.0.name=finetune", "stages.name"),
        ("model.fusion=everything", "model.fusion"),
        ("model.hidden_size=33", "model.hidden_size"),
        ("mixed_precision=fp8", "mixed_precision"),
        ("motion_input=video", "motion_input"),
        ("weight_decay=2", "weight_decay"),
        ("token_diversity=-1", "token_diversity"),
        ("token_words=-0.5", "token_words"),
        ("stages=[{name: words, steps: 1, lr: 0.1}]", "token_words"),
        ("stages=[{name: lora, steps: 1, lr: 0.1}, {name: words, steps: 1, lr: 0.1}]", "stages"),
        ("model.motion_update=gated", "model.motion_update"),
        ("stages=[{name: lora, steps: 1, lr: 0.1}, {name: align, steps: 1, lr: 0.1}]", "stages"),
        ("repeat_qtypes={rep_count: 0}", "repeat_qtypes.rep_count"),
        ("repeat_qtypes=[rep_count]", "repeat_qtypes"),
        ("repeat_qtypes={rep_count: 2}", "repeat_qtypes"),  # without per_turn
        ("bogus=1", "unknown keys"),
    ],
)
def test_config_errors_name_the_field(override: str, field: str) -> None:
    with pytest.raises(ValueError) as err:
        TrainConfig.from_yaml(TINY_YAML, ["train_data=x.jsonl", override])
    assert str(err.value).startswith(field) or field in str(err.value)


def test_a_bare_no_turns_mixed_precision_off() -> None:
    """YAML reads `--set mixed_precision=no` (and `mixed_precision: no`) as false."""
    cfg = TrainConfig.from_yaml(TINY_YAML, ["train_data=x.jsonl", "mixed_precision=no"])
    assert cfg.mixed_precision == "no"


def test_cli_reports_a_bad_config_as_a_usage_error(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        finetune.main(["--config", str(TINY_YAML), "--set", "batch_size=0"])
    assert exit_info.value.code == 2
    assert "batch_size" in capsys.readouterr().err


def test_cli_reports_a_training_data_error_as_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text('{"motion": "a.npz", "conversations": []}\n{not json\n')
    code = finetune.main(["--config", str(TINY_YAML), "--out", str(tmp_path / "out"),
                          "--set", f"train_data={data}"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), err
    assert str(data) in err[0] and "Traceback" not in err[0]


def test_cli_reports_a_resume_without_checkpoint_as_one_line(
    assets: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    code = finetune.main(["--config", str(TINY_YAML), "--out", str(tmp_path / "out"),
                          "--set", f"train_data={assets['train']}", "--resume"])  # fmt: skip
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("error: --resume: no checkpoint under"), err


@dataclass
class _Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor


def test_collate_limited_cuts_text_but_never_every_answer() -> None:
    ids = torch.arange(10).repeat(2, 1)  # (2, 10)
    labels = torch.full((2, 10), finetune.IGNORE_INDEX)
    labels[0, 2:4] = 1  # row 0 answers early, row 1 only at the end
    labels[1, 8:] = 1
    batch = _Batch(ids, torch.ones(2, 10, dtype=torch.bool), labels)
    same = finetune.collate_limited(lambda ex: batch, 10, [])
    assert same is batch
    with pytest.raises(ValueError, match=r"max_seq_len: 6 .* rows \[1\]"):
        finetune.collate_limited(lambda ex: batch, 6, [])
    labels[1, 4] = 1
    cut = finetune.collate_limited(lambda ex: batch, 6, [])
    assert cut.input_ids.shape == (2, 6) and cut.labels.shape == (2, 6)


def test_atomic_dir_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    final = tmp_path / "ckpt"
    with atomic_dir(final) as tmp:
        (tmp / "a.txt").write_text("one")
    assert (final / "a.txt").read_text() == "one"
    with pytest.raises(RuntimeError), atomic_dir(final) as tmp:
        (tmp / "a.txt").write_text("two")
        raise RuntimeError("disk full")
    assert (final / "a.txt").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


class _Evil:
    """Unpickling this writes a marker file: proof that a pickle was loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pickle code ran"))


def test_rng_state_round_trips_without_pickle_and_an_evil_rng_pt_never_runs(
    tmp_path: Path,
) -> None:
    finetune.seed_everything(3)
    states = [finetune.rng_state(), finetune.rng_state()]
    finetune.save_rng_states(states, tmp_path / finetune.RNG_FILE)
    expected = (np.random.rand(3), torch.rand(3), __import__("random").random())
    finetune.set_rng_state(finetune.load_rng_state(tmp_path, 1))
    got = (np.random.rand(3), torch.rand(3), __import__("random").random())
    np.testing.assert_array_equal(expected[0], got[0])
    assert torch.equal(expected[1], got[1]) and expected[2] == got[2]
    # An old-format checkpoint whose rng.pt was crafted to run code when unpickled.
    evil = tmp_path / "evil"
    evil.mkdir()
    marker = tmp_path / "marker.txt"
    torch.save({"x": _Evil(marker)}, evil / "rng.pt")
    with pytest.warns(UserWarning, match="pickle"):
        assert finetune.load_rng_state(evil, 0) is None
    assert not marker.exists()
    # A damaged state file: one clear message, no traceback from safetensors.
    (evil / finetune.RNG_FILE).write_bytes(b"\x00" * 20)
    with pytest.raises(ValueError, match="damaged"):
        finetune.load_rng_state(evil, 0)


def test_no_pickle_loading_anywhere_in_the_code() -> None:
    """Every torch.load passes weights_only=True; numpy loads never allow pickle."""
    for path in [
        *REPO.glob("core/**/*.py"),
        *REPO.glob("train/**/*.py"),
        *REPO.glob("app/**/*.py"),
    ]:
        text = path.read_text()
        assert "weights_only=False" not in text, path
        assert "allow_pickle=True" not in text, path
        assert "pickle.load" not in text, path


def test_stale_tmp_folders_of_a_killed_save_are_removed(tmp_path: Path) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    stale = tmp_path / "checkpoints" / f".tmp-step-000004-{dead}"
    stale.mkdir(parents=True)
    (stale / "optimizer.pt").write_bytes(b"half")
    live = tmp_path / "checkpoints" / f".tmp-step-000006-{os.getppid()}"  # a running writer
    live.mkdir()
    removed = finetune.remove_stale_tmp(tmp_path)
    assert removed == [stale] and not stale.exists() and live.exists()


# -- real training runs ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_run(assets: dict, tmp_path_factory: pytest.TempPathFactory):
    """5 steps (2 align + 3 LoRA), a checkpoint after every step, all kept. Dropout in
    both stages, so a resume that lost the RNG state would see other masks."""
    out = tmp_path_factory.mktemp("run-a")
    config = tiny_config(
        assets, "stages.0.steps=2", "stages.1.steps=3", "save_every=1", "keep_checkpoints=0",
        "stages.0.lr=0.02", "stages.1.lr=0.02", "model.dropout=0.1", "model.lora_dropout=0.1",
    )  # fmt: skip
    return config, train(config, out_dir=out)


def _fixed_batch_loss(model_dir: Path | None, config: TrainConfig, records_path: Path) -> float:
    """Loss of a model on all training examples at once (dropout off)."""
    from core.llamo.model import LLaMo

    finetune.seed_everything(config.seed)
    if model_dir is None:
        model = LLaMo.from_config(config.llamo_config(), device="cpu")
    else:
        model = LLaMo.from_pretrained(model_dir, device="cpu")
    examples = finetune.load_train_examples(
        TrainConfig.from_dict({**config.to_dict(), "train_data": str(records_path)})
    )
    model.eval()
    with torch.no_grad():
        return float(model(model.collate([examples[i] for i in range(len(examples))])))


def test_training_lowers_the_loss_and_writes_outputs(full_run, assets: dict) -> None:
    config, result = full_run
    assert [row["step"] for row in result.history] == [1, 2, 3, 4, 5]
    assert [row["stage"] for row in result.history] == ["align"] * 2 + ["lora"] * 3
    assert all(np.isfinite(row["loss"]) for row in result.history)
    before = _fixed_batch_loss(None, config, assets["train"])
    after = _fixed_batch_loss(result.model_dir, config, assets["train"])
    assert after < before - 0.02, (before, after)
    with (result.out_dir / "loss.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [float(r["loss"]) for r in rows] == [row["loss"] for row in result.history]
    assert (result.out_dir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the final model is a complete save_pretrained folder with its LoRA adapter
    names = {p.name for p in result.model_dir.iterdir()}
    assert {"config.json", "motion_modules.safetensors", "lora", "train_config.yaml"} <= names


@pytest.mark.parametrize("resume_step", [1, 3])
def test_resume_reproduces_the_uninterrupted_run_bit_exactly(
    full_run, resume_step: int, tmp_path: Path
) -> None:
    config, result = full_run
    source = result.out_dir / "checkpoints" / f"step-{resume_step:06d}"
    assert (source / "trainer_state.json").is_file()
    shutil.copytree(source, tmp_path / "checkpoints" / source.name)
    resumed = train(config, out_dir=tmp_path, resume="latest")
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in result.history]
    assert [r["lr"] for r in resumed.history] == [r["lr"] for r in result.history]
    want, got = module_weights(result.model_dir), module_weights(resumed.model_dir)
    assert want.keys() == got.keys() and any(k.startswith("lora.") for k in want)
    for name in want:
        assert torch.equal(want[name], got[name]), name


def test_resume_refuses_a_changed_batch_size(full_run, tmp_path: Path) -> None:
    config, result = full_run
    shutil.copytree(result.out_dir / "checkpoints", tmp_path / "checkpoints")
    changed = TrainConfig.from_dict({**config.to_dict(), "batch_size": 3})
    with pytest.raises(ValueError, match="batch_size"):
        train(changed, out_dir=tmp_path, resume="latest")


def test_failed_checkpoint_write_leaves_no_partial_folder(
    assets: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tiny_config(assets, "stages.0.steps=1", "stages.1.steps=2", "save_every=1",
                         "keep_checkpoints=0")  # fmt: skip
    real_save = torch.save

    def failing_save(obj, path, *args, **kwargs):
        # the model and the optimizer are already in the temporary folder at this point
        if Path(path).name == "scheduler.pt" and ".tmp-step-000002" in str(path):
            raise OSError("simulated disk failure")
        return real_save(obj, path, *args, **kwargs)

    monkeypatch.setattr(finetune.torch, "save", failing_save)
    with pytest.raises(OSError, match="simulated"):
        train(config, out_dir=tmp_path)
    monkeypatch.setattr(finetune.torch, "save", real_save)
    entries = sorted(p.name for p in (tmp_path / "checkpoints").iterdir())
    assert entries == ["step-000001"]
    state = json.loads((tmp_path / "checkpoints/step-000001/trainer_state.json").read_text())
    assert state["step"] == 1
    # and the run continues from the intact checkpoint
    resumed = train(config, out_dir=tmp_path, resume="latest")
    assert [r["step"] for r in resumed.history] == [1, 2, 3]


@pytest.mark.slow
def test_two_process_cpu_launch_trains_and_checkpoints(assets: dict, tmp_path: Path) -> None:
    """accelerate launch with train/accelerate/cpu2.yaml: 2 gloo processes on the CPU."""
    cmd = [
        str(Path(sys.executable).parent / "accelerate"), "launch",
        "--config_file", str(REPO / "train/accelerate/cpu2.yaml"), "--main_process_port", "29517",
        "-m", "train.finetune", "--config", str(TINY_YAML), "--out", str(tmp_path),
        "--set", f"train_data={assets['train']}", "--set", f"model.llm={assets['llm']}",
        "--set", "stages.0.steps=2", "--set", "stages.1.steps=2", "--set", "batch_size=1",
        "--set", f"eval_data={assets['train']}",  # validation under 2 processes too
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    state = json.loads((tmp_path / "checkpoints/step-000004/trainer_state.json").read_text())
    assert state["num_processes"] == 2 and state["examples_per_step"] == 2
    rng = safe_open(str(tmp_path / "checkpoints/step-000004/rng.safetensors"), framework="pt")
    assert rng.metadata()["processes"] == "2"
    with (tmp_path / "loss.csv").open() as f:
        rows = list(csv.DictReader(f))
    losses = [float(r["loss"]) for r in rows]
    assert len(losses) == 4 and all(np.isfinite(losses))
    # at every checkpoint: the end of each stage (2, 4) and save_every=3 of tiny.yaml
    assert [bool(r["val_loss"]) for r in rows] == [False, True, True, True]
    assert "step 0 (the starting model): validation loss" in done.stdout


def test_init_from_a_trained_model_may_switch_on_the_normed_update(
    full_run, assets: dict, tmp_path: Path
) -> None:
    _, result = full_run
    start = f"init_from={result.model_dir}"
    config = tiny_config(assets, start, "model.motion_update=normed", "stages.0.steps=1",
                         "stages.1.steps=1", "save_every=5", "token_diversity=1.0")  # fmt: skip
    trained = train(config, out_dir=tmp_path / "normed")
    saved = json.loads((trained.model_dir / "config.json").read_text())
    assert saved["motion_update"] == "normed"
    assert "m.fusion.update_norm.weight" in module_weights(trained.model_dir)
    with pytest.raises(ValueError, match="model.hidden_size"):
        tiny_config(assets, start, "model.hidden_size=64").llamo_config()


def test_token_words_train_the_tokens_to_read_as_their_frames_words(
    assets: dict, tmp_path: Path
) -> None:
    """A words stage (no LLM forward) lowers the word loss of the tokens; the align stage
    after it trains on the answers as before."""
    from core.llamo.fusion import token_word_loss
    from core.llamo.model import LLaMo
    from train.token_words import WithWordTargets

    config = tiny_config(assets, "stages=[{name: words, steps: 16, lr: 0.02, warmup_steps: 1}, "
                         "{name: align, steps: 1, lr: 1.0e-6}]", "token_words=5.0", "save_every=17",
                         "seed=1")  # fmt: skip
    result = train(config, out_dir=tmp_path / "words")

    def word_loss(model: LLaMo) -> float:
        examples = WithWordTargets(
            finetune.load_train_examples(config), model.tokenizer, model.config.fps
        )
        batch = model.collate([examples[i] for i in range(len(examples))])
        assert batch.word_targets is not None and (batch.word_targets != -100).any()
        with torch.no_grad():
            fusion = model.fuse(batch)
            embeddings = model.llm.get_input_embeddings().weight
            return float(token_word_loss(fusion.tokens, fusion.token_mask,
                                         fusion.frame_indices, batch.word_targets, embeddings))  # fmt: skip

    finetune.seed_everything(config.seed)
    before = word_loss(LLaMo.from_config(config.llamo_config(), device="cpu").eval())
    after = word_loss(LLaMo.from_pretrained(result.model_dir, device="cpu").eval())
    assert after < 0.5 * before, (before, after)
    stages = [row["stage"] for row in csv.DictReader((result.out_dir / "loss.csv").open())]
    assert stages == ["words"] * 16 + ["align"]


def test_a_set_built_with_another_facts_budget_than_the_models_is_refused(
    assets: dict, tmp_path: Path
) -> None:
    """train.make_dataset's dataset.json records its facts budgets; training a model whose
    max_prompt_facts, max_prompt_moments or max_prompt_joints differs would teach it blocks the
    app never sends."""
    train_path = tmp_path / "train.jsonl"
    shutil.copy(assets["train"], train_path)
    built = {"max_facts": 3, "max_moments": 2, "max_joints": 1}
    (tmp_path / "dataset.json").write_text(json.dumps(built))
    with pytest.raises(ValueError, match="model.max_prompt_facts: .* built with --max-facts 3"):
        finetune.load_train_examples(tiny_config(assets, f"train_data={train_path}"))
    facts = tiny_config(assets, f"train_data={train_path}", "model.max_prompt_facts=3")
    with pytest.raises(ValueError, match="model.max_prompt_moments: .* built with --max-moments 2"):
        finetune.load_train_examples(facts)
    moments = tiny_config(assets, f"train_data={train_path}", "model.max_prompt_facts=3",
                          "model.max_prompt_moments=2")  # fmt: skip
    with pytest.raises(ValueError, match="model.max_prompt_joints: .* built with --max-joints 1"):
        finetune.load_train_examples(moments)
    same = tiny_config(assets, f"train_data={train_path}", "model.max_prompt_facts=3",
                       "model.max_prompt_moments=2", "model.max_prompt_joints=1")  # fmt: skip
    assert len(finetune.load_train_examples(same)) == 8
