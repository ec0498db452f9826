"""tools/gen_safe_private.py turns the standard's grid table of Table E.3.10-1 into the module's rows."""
import importlib.util
from pathlib import Path

from kit.medical._safe_private import SAFE_PRIVATE

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gen_safe_private.py"
# The layout of the reStructuredText conversion: a grid table under a '.. table::' directive inside a note,
# multi-line cells, a ':sup:' role in a meaning.
RST = r"""
.. note::

   1. A sample list of Private Attributes thought to be safe is provided
      here.

      .. table:: Safe Private Attributes

         +----------------+----------------+--------+--------+----------------+
         | **Data         | **Private      | **VR** | **VM** | **Meaning**    |
         | Element**      | Creator**      |        |        |                |
         +================+================+========+========+================+
         | (7053,xx00)    | Philips PET    | DS     | 1      | SUV Factor -   |
         |                | Private Group  |        |        | Multiplying    |
         |                |                |        |        | stored pixel   |
         +----------------+----------------+--------+--------+----------------+
         | (0043,xx39)    | GEMS_PARM_01   | IS     | 4      | 1\ :sup:`st`\  |
         |                |                |        |        | value is B     |
         |                |                |        |        | Value          |
         +----------------+----------------+--------+--------+----------------+

   2. One approach to retaining Private Attributes safely ...
"""


def test_generator_reads_the_grid_table(tmp_path):
    spec = importlib.util.spec_from_file_location("gen_safe_private", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    src, out = tmp_path / "chapter_E.rst", tmp_path / "_safe_private.py"
    src.write_text(RST)
    module.main([str(src), "--edition", "test", "--source", "a test table", "--out", str(out)])
    namespace = {}
    exec(out.read_text(), namespace)
    assert namespace["SAFE_PRIVATE"] == (
        (0x7053, 0x00, "Philips PET Private Group", "DS", "1", "SUV Factor - Multiplying stored pixel"),
        (0x0043, 0x39, "GEMS_PARM_01", "IS", "4", "1st value is B Value"),
    )
    assert namespace["EDITION"] == "test"


def test_the_kit_table_holds_the_standard_rows():
    rows = {(g, e, c): (vr, meaning) for g, e, c, vr, _, meaning in SAFE_PRIVATE}
    assert rows[(0x0019, 0x23, "GEMS_ACQU_01")] == ("DS", "Table Speed [mm/rotation]")
    assert rows[(0x7053, 0x00, "Philips PET Private Group")][0] == "DS"
    assert all(g % 2 == 1 for g, *_ in SAFE_PRIVATE)  # private groups are odd
