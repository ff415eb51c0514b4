"""`python -m benchmarks.unit_app` refuses bad arguments with exit code 2 and a message, before it starts
anything."""

import sys

import pytest


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--runs", "0"], "bounded runs only"),
        (["--throttled-runs", "21"], "bounded runs only"),
        (["--port", "5"], "--port"),
        (["--runs", "many"], "invalid int value"),
    ],
)
def test_bad_arguments_are_refused_with_a_message(args, said, monkeypatch, capsys):
    """The command's main() in this process (a new interpreter per case took seconds of imports)."""
    from benchmarks.unit_app import main

    monkeypatch.setattr(sys, "argv", ["benchmarks.unit_app", *args])
    with pytest.raises(SystemExit) as exited:
        main()
    err = capsys.readouterr().err
    assert exited.value.code == 2 and said in err, err
    assert "Traceback" not in err
