"""docs/tutorial.ipynb runs top to bottom in a real Jupyter kernel, and shows what it says."""
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TUTORIAL = Path(__file__).resolve().parents[2] / "docs" / "tutorial.ipynb"


def test_tutorial_executes_without_errors(tmp_path):
    notebook = nbformat.read(TUTORIAL, as_version=4)
    client = NotebookClient(notebook, timeout=180, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError on any error

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    html = [out.data["text/html"] for out in outputs if "text/html" in out.get("data", {})]
    assert any('class="eli5k eli5k-batch"' in h for h in html)  # the batch shows itself
    assert any('class="eli5k eli5k-explanation"' in h for h in html)  # so does one Explanation
    assert any("Drawn signed" in h for h in html)  # the signed section
    assert any("eli5k-summary" in h for h in html)  # the report's summary
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 2  # PIL overlays
    report = tmp_path / "tutorial-report.html"
    assert report.is_file() and "Content-Security-Policy" in report.read_text(encoding="utf-8")
