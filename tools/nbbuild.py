"""Build a notebook file from a list of (kind, source) cells.

Used once to author each notebook; afterwards the .ipynb is the source and is
edited in JupyterLab. Kept so new notebooks start with the same metadata.

    python tools/nbbuild.py  # (imported by the authoring scripts)
"""
from __future__ import annotations

import nbformat


def build(cells, path, *, spec: str, purpose: str):
    nb = nbformat.v4.new_notebook()
    nb.metadata.update(
        {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
            "kit": {"spec": spec, "purpose": purpose},
        }
    )
    for kind, source in cells:
        source = source.strip("\n")
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        elif kind == "parameters":
            nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]}))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(source))
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    nbformat.write(nb, path)
    return path
