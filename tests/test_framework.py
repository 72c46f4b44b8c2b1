"""The bundled framework's shape, and errors for a malformed one."""

from pathlib import Path

import pytest
import yaml

import xmkit
from xmkit.errors import XmkitError

SEEDS = Path(__file__).parents[2] / "shared" / "seeds"


def test_bundled_framework_has_four_categories_of_three_practices():
    framework = xmkit.load_framework()
    assert [c.name for c in framework.categories] == ["Visualize", "Analyze", "Involve", "Converge"]
    assert all(len(c.practices) == 3 for c in framework.categories)
    assert 24 <= len(framework.question_ids) <= 36
    assert len(framework.stages) == 5
    for _, practice in framework.practices:
        assert 2 <= len(practice.questions) <= 3
        assert sorted(practice.next_steps) == [1, 2, 3, 4]
        assert all(sorted(q.levels) == [1, 2, 3, 4, 5] for q in practice.questions)


def test_bundled_framework_has_no_placeholder_text():
    text = (Path(xmkit.__file__).parent / "frameworks" / "ex_cx_alignment.yaml").read_text()
    assert "TODO" not in text


@pytest.mark.skipif(not SEEDS.exists(), reason="source articles are not beside this checkout")
def test_bundled_framework_text_does_not_copy_the_source_articles():
    """No sentence fragment of 8 words or more is taken over from the seed articles."""

    def shingles(text: str, k: int = 8) -> set[str]:
        words = [w.strip(".,;:!?()\"'’“”").lower() for w in text.split()]
        return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}

    seeds = set().union(*(shingles(p.read_text()) for p in SEEDS.glob("*.txt")))
    ours = shingles(
        (Path(xmkit.__file__).parent / "frameworks" / "ex_cx_alignment.yaml").read_text()
    )
    assert not ours & seeds


def _broken(tmp_path, edit) -> Path:
    data = yaml.safe_load(
        (Path(xmkit.__file__).parent / "frameworks" / "ex_cx_alignment.yaml").read_text()
    )
    edit(data)
    path = tmp_path / "framework.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_missing_level_is_reported_with_its_key_path(tmp_path):
    path = _broken(
        tmp_path, lambda d: d["categories"][0]["practices"][0]["questions"][0]["levels"].pop(5)
    )
    with pytest.raises(XmkitError) as err:
        xmkit.load_framework(path)
    message = str(err.value)
    assert "categories[visualize].practices[anchor_metrics].questions[v1_1].levels" in message
    assert "exactly the levels [1, 2, 3, 4, 5]" in message


def test_duplicate_question_id_is_rejected(tmp_path):
    def dup(d):
        d["categories"][1]["practices"][0]["questions"][0]["id"] = "v1_1"

    with pytest.raises(XmkitError, match="question id 'v1_1' is used twice"):
        xmkit.load_framework(_broken(tmp_path, dup))


def test_unknown_key_and_wrong_type_are_both_reported(tmp_path):
    def edit(d):
        d["categories"][0]["colour"] = "red"
        d["thresholds"]["min_group_size"] = "five"

    with pytest.raises(XmkitError) as err:
        xmkit.load_framework(_broken(tmp_path, edit))
    assert "categories[visualize].colour" in str(err.value)
    assert "thresholds.min_group_size" in str(err.value)


def test_gating_must_name_a_category(tmp_path):
    def edit(d):
        d["gating"]["category"] = "nowhere"

    with pytest.raises(XmkitError, match=r"gating\.category .nowhere. is not a category id"):
        xmkit.load_framework(_broken(tmp_path, edit))


def test_yaml_is_loaded_safely(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text("!!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(XmkitError, match="not valid YAML"):
        xmkit.load_framework(path)
