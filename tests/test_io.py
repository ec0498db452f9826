

def test_read_csv_table_names_missing_and_corrupt_files(tmp_path):
    import pytest

    from kit.errors import InputDataError
    from kit.io import read_csv_table

    with pytest.raises(InputDataError, match=r"^yields file .*nope.csv does not exist; give a CSV with yield_t_ha$"):
        read_csv_table(tmp_path / "nope.csv", "yields", "a CSV with yield_t_ha")
    corrupt = tmp_path / "y.csv"
    corrupt.write_bytes(b"\xff\xfe\x00garbage\x00\x81")
    with pytest.raises(InputDataError, match="yields file .*y.csv is not a readable CSV .*UTF-8 text"):
        read_csv_table(corrupt, "yields", "a CSV")
    ok = tmp_path / "ok.csv"
    ok.write_text("# exported 2026-11-24\nfield_id, year ,yield_t_ha\nF1, 2023, 2.5\n")
    df = read_csv_table(ok, "yields", "a CSV")
    assert list(df.columns) == ["field_id", "year", "yield_t_ha"] and df.loc[0, "yield_t_ha"] == 2.5
    assert df.attrs["source"] == str(ok)
