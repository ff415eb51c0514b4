"""The targets file: the bundled one is valid; a wrong one is refused with the file, the field and the reason."""

import pytest

from dispatch.reports.targets import TargetsError, load_targets

GOOD = """
[[target]]
key = "processing-p1"
name = "Call processing, priority 1"
interval = "processing"
priorities = [1]
seconds = 60
fraction = 0.9
source = "NFPA 1225"
"""


def test_the_bundled_targets_follow_the_standards():
    targets = {t.key: t for t in load_targets()}
    assert (targets["processing-p1-90"].seconds, targets["processing-p1-90"].fraction) == (60, 0.9)
    assert targets["turnout-ems"].seconds == 60 and targets["turnout-fire"].seconds == 80
    assert targets["travel-first-unit"].seconds == 240 and targets["travel-first-unit"].first_unit
    assert all(t.source for t in targets.values())


def test_another_file_can_take_its_place(tmp_path):
    path = tmp_path / "targets.toml"
    path.write_text(GOOD)
    assert [t.key for t in load_targets(path)] == ["processing-p1"]


@pytest.mark.parametrize(
    "change, words",
    [
        (('interval = "processing"', 'interval = "dispatch"'), "target.0.interval: Input should be"),
        (("seconds = 60", "seconds = -1"), "target.0.seconds: Input should be greater than 0"),
        (("fraction = 0.9", "fraction = 90"), "target.0.fraction: Input should be less than or equal to 1"),
        (("priorities = [1]", 'priorities = [1]\ncapabilities = ["engine"]'), "capabilities apply to unit intervals"),
        (("priorities = [1]", "priorities = [7]"), "target.0.priorities.0"),
        (("priorities = [1]", 'priorities = [1]\ncolour = "red"'), "target.0.colour: Extra inputs are not permitted"),
        ((GOOD, GOOD + GOOD), "target key 'processing-p1' appears more than once"),
        (("[[target]]", "[[target]"), "is not readable TOML"),
    ],
)
def test_a_wrong_file_is_refused_with_a_clear_message(tmp_path, change, words):
    path = tmp_path / "targets.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(TargetsError) as caught:
        load_targets(path)
    assert str(path) in str(caught.value) and words in str(caught.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(TargetsError, match="does not exist"):
        load_targets(tmp_path / "nowhere.toml")
