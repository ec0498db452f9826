"""Execute notebooks in place, as nbval will (kernel in the notebook's folder).

    python tools/execute_notebooks.py notebooks/*.ipynb
"""
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from kit.runner import kernel_config


def execute(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
                   config=kernel_config()).execute()
    nbformat.write(nb, path)
    print(f"executed {path}")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        execute(Path(arg))
