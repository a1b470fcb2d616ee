"""examples/quickstart.ipynb runs top to bottom on the example input (nbclient, real kernel)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


@pytest.mark.slow
def test_quickstart_notebook_runs() -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # The kernel inherits this process's environment: HF_HUB_OFFLINE=1 and the test cache.
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})  # fmt: skip
    client.execute()
    outs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "\n".join(o.get("text", "") for o in outs if o.get("output_type") == "stream")
    assert "squat" in text.lower()  # the summary names the guessed activity
    assert text.count("looked at:") == 2 and " s (frame " in text
    images = sum("image/png" in o.get("data", {}) for o in outs)
    assert images >= 4  # angles, relevance, overlay frame, 3D skeleton
    assert "report.html" in text
