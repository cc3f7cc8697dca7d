import pytest

from aae.errors import exit_on_error


def test_exit_on_error_prints_one_line_and_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        exit_on_error("no metrics.jsonl at /x")
    assert e.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err == "error: no metrics.jsonl at /x\n"
