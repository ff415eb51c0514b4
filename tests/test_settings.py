import pytest
from pydantic import ValidationError

from dispatch.config import DEV_SECRET, Environment, Settings


def test_production_refuses_the_default_secret():
    with pytest.raises(ValidationError, match="development default"):
        Settings(env=Environment.production, secret_key=DEV_SECRET)


def test_production_refuses_a_short_secret():
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(env=Environment.production, secret_key="short", sms_webhook_secret="s" * 40)


def test_dev_accepts_the_default_secret_and_production_a_real_one():
    assert Settings(env=Environment.dev).secret_key == DEV_SECRET
    assert Settings(env=Environment.production, secret_key="x" * 40, sms_webhook_secret="s" * 40).is_dev is False


def test_production_refuses_the_default_sms_secret():
    with pytest.raises(ValidationError, match="SMS_WEBHOOK_SECRET"):
        Settings(env=Environment.production, secret_key="x" * 40)


def test_settings_come_from_prefixed_environment_variables(monkeypatch):
    monkeypatch.setenv("DISPATCH_DATABASE_URL", "postgresql://u:p@db.example:6543/cad")
    monkeypatch.setenv("DISPATCH_REDIS_URL", "redis://cache:6380/2")
    settings = Settings()
    assert settings.async_database_url == "postgresql+asyncpg://u:p@db.example:6543/cad"
    assert settings.libpq_url == "postgresql://u:p@db.example:6543/cad"
    assert settings.redis_url == "redis://cache:6380/2"
    assert settings.database_name == "cad"


def test_a_report_targets_file_of_ones_own_is_checked_when_the_settings_are_read(tmp_path):
    with pytest.raises(ValidationError, match=r"report targets file .* does not exist"):
        Settings(report_targets=tmp_path / "missing.toml")
    broken = tmp_path / "targets.toml"
    broken.write_text("[[target]\nname = ", encoding="utf-8")
    with pytest.raises(ValidationError, match="not readable TOML"):
        Settings(report_targets=broken)
    assert Settings().report_targets is None  # the bundled targets


@pytest.mark.parametrize(
    ("raw", "priorities"),
    [
        ("1", [1]),
        ("1,2", [1, 2]),
        (" 2, 1 ", [1, 2]),
        ("[1,2]", [1, 2]),
        ("[]", []),
        ("", []),
        ("1,2,3,4", [1, 2, 3, 4]),
    ],
)
def test_auto_dispatch_priorities_are_read_as_a_list_or_comma_separated(monkeypatch, raw, priorities):
    monkeypatch.setenv("DISPATCH_AUTO_DISPATCH_PRIORITIES", raw)
    assert Settings().auto_dispatch_priorities == priorities


@pytest.mark.parametrize("raw", ["5", "1,x", "[1,", "one", "0"])
def test_bad_auto_dispatch_priorities_are_refused_with_the_setting_named(monkeypatch, raw):
    monkeypatch.setenv("DISPATCH_AUTO_DISPATCH_PRIORITIES", raw)
    with pytest.raises(ValidationError, match=r"auto_dispatch_priorities: priorities are 1 to 4"):
        Settings()
