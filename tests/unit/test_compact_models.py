"""Compact models: JSON (workflow histories) leaves optional fields at their defaults out,
and decoding gives the same model back."""

from __future__ import annotations

from pydantic import Field

from bxb.workflows.state import Compact


class Step(Compact):
    name: str
    note: str | None = None
    urgent: bool = False
    tags: list[str] = Field(default_factory=list)


class Story(Compact):
    steps: list[Step] = Field(default_factory=list)
    title: str = "untitled"


def test_defaults_are_left_out_and_come_back() -> None:
    story = Story(steps=[Step(name="a"), Step(name="b", urgent=True, tags=["x"])])
    body = story.model_dump_json()
    assert body == '{"steps":[{"name":"a"},{"name":"b","urgent":true,"tags":["x"]}]}'
    assert Story.model_validate_json(body) == story
    assert Story().model_dump_json() == "{}"
    assert Story(title="t").model_dump(mode="json") == {"title": "t"}
    # Python mode keeps every field (only JSON is compacted).
    assert Step(name="c").model_dump() == {"name": "c", "note": None, "urgent": False, "tags": []}


def test_a_default_instance_is_never_shared() -> None:
    first, second = Step(name="a"), Step(name="b")
    first.model_dump_json()
    first.tags.append("mine")
    assert second.tags == []
    assert Step(name="a").model_dump_json() == '{"name":"a"}'
    assert first.model_dump_json() == '{"name":"a","tags":["mine"]}'
