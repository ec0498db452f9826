from kit.cli import main


def test_list_shows_purpose_and_parameters(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "quickstart  (00_quickstart.ipynb)" in out
    assert "size" in out and "= 128" in out and "pixels" in out


def test_list_names(capsys):
    assert main(["list", "--names"]) == 0
    assert "quickstart" in capsys.readouterr().out.split()


def test_doctor_reports_versions_and_device(capsys, no_kit_device):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "numpy" in out and "torch gpu" in out and "device=auto" in out and "memory" in out


def test_usage_error_is_exit_2(capsys):
    assert _exit_code(["run"]) == 2
    assert "kit: error:" in capsys.readouterr().err


def _exit_code(argv):
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code
