"""`dispatch report`: files in three formats, and clear refusals of bad arguments (exit status 2)."""

import json

import pytest
from typer.testing import CliRunner

from dispatch.cli import app
from dispatch.config import get_settings

runner = CliRunner()


@pytest.fixture
def cli_env(settings, monkeypatch):
    monkeypatch.setenv("DISPATCH_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--from", "2031-02-30", "--to", "2031-03-01"], "--from must be a date"),
        (["--from", "2031-03-01", "--to", "2031-01-01"], "--to (2031-01-01) must be after --from"),
        (["--from", "2031-01-01", "--to", "2031-01-31", "--group-by", "weather"], "--group-by takes"),
        (["--from", "2031-01-01", "--to", "2031-01-31", "--format", "pdf"], "pdf"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(cli_env, tmp_path, args, words):
    result = runner.invoke(app, ["report", *args, "--out", str(tmp_path / "r.html")])
    assert result.exit_code == 2
    assert words in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_missing_directory_is_refused(cli_env, tmp_path):
    result = runner.invoke(
        app, ["report", "--from", "2031-01-01", "--to", "2031-01-31", "--out", str(tmp_path / "nowhere" / "r.html")]
    )
    assert result.exit_code == 2 and "does not exist" in result.output


@pytest.mark.parametrize("fmt", ["html", "csv", "json"])
def test_each_format_is_written(cli_env, tmp_path, fmt):
    out = tmp_path / f"r.{fmt}"
    result = runner.invoke(
        app,
        [
            "report",
            "--from",
            "2031-01-01",
            "--to",
            "2031-01-31",
            "--format",
            fmt,
            "--out",
            str(out),
            "--group-by",
            "priority,hour,municipality",
        ],
    )
    assert result.exit_code == 0, result.output
    data = out.read_text()
    if fmt == "html":
        assert data.startswith("<!doctype html>") and data.count("data:image/png;base64,") == 3
    elif fmt == "csv":
        assert data.splitlines()[0].startswith("group_by,key,row,name,count,p50_s")
        assert "priority,(all),interval,response,0,,," in data
    else:
        full = json.loads(data)
        assert set(full["by"]) == {"priority", "hour", "municipality"} and full["time_zone"] == "Europe/Vaduz"


def test_a_database_that_is_not_there_is_said_plainly(tmp_path, monkeypatch):
    monkeypatch.setenv("DISPATCH_DATABASE_URL", "postgresql://postgres:secret@127.0.0.1:5432/no_such_database_here")
    get_settings.cache_clear()
    try:
        result = runner.invoke(
            app, ["report", "--from", "2031-01-01", "--to", "2031-01-31", "--out", str(tmp_path / "r.html")]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert 'database "no_such_database_here" does not exist' in " ".join(result.output.split())
    assert "secret" not in result.output
