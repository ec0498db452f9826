"""tools/gen_annex_e.py turns the extraction's rows into the module's table, option columns included."""
import importlib.util
import json
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "gen_annex_e.py"


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_rows_and_option_columns(tmp_path):
    rows = [
        {"name": "Instance Creation Time", "tag": "(0008,0013)", "stdCompIOD": "Y", "basicProfile": "X/Z/D",
         "rtnLongFullDatesOpt": "K", "rtnLongModifDatesOpt": "C", "id": "00080013"},
        {"name": "Patient's Sex", "tag": "(0010,0040)", "stdCompIOD": "Y", "basicProfile": "Z",
         "rtnPatCharsOpt": "K", "id": "00100040"},
        {"name": "Overlay Data", "tag": "(60XX,3000)", "stdCompIOD": "Y", "basicProfile": "X", "cleanGraphOpt": "C",
         "id": "60xx3000"},
        {"name": "Private Attributes", "tag": "(gggg,eeee) where gggg is odd", "stdCompIOD": "Y",
         "basicProfile": "X", "rtnSafePrivOpt": "C", "id": "ggggeeee"},
    ]
    src = tmp_path / "rows.json"
    src.write_text(json.dumps(rows))
    gen = _load(TOOL, "gen_annex_e")
    out = tmp_path / "annex.py"
    gen.main([str(src), "--edition", "2099x", "--source", 'a "quoted" source', "--out", str(out)])
    table = _load(out, "annex")
    assert table.EDITION == "2099x" and table.SOURCE == 'a "quoted" source'
    assert table.BASIC_PROFILE == {0x00080013: "X/Z/D", 0x00100040: "Z"}
    assert table.OPTION_ACTIONS[0x00080013] == {"retain_longitudinal_full_dates": "K",
                                                 "retain_longitudinal_modified_dates": "C"}
    assert table.OPTION_ACTIONS[0x00100040] == {"retain_patient_characteristics": "K"}
    assert table.REPEATING == {"60XX3000": "X"} and table.PRIVATE == ("Private Attributes", "X",
                                                                      {"retain_safe_private": "C"})
    rows[0]["basicProfile"] = "Q"
    src.write_text(json.dumps(rows))
    with pytest.raises(SystemExit, match="unexpected action 'Q'"):
        gen.main([str(src), "--edition", "2099x", "--source", "s", "--out", str(out)])
