"""Roto prompts: the prompts file, mask prompts, keyframe checks against the image and range, track planning."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inkpaint.backends.base import Keyframe, RotoRequest, plan_tracks
from inkpaint.errors import SpecError
from inkpaint.io.frames import write_exr, write_png
from inkpaint.ops.roto import Prompt, RotoJob, RotoObject, build_keyframes, load_prompts, read_mask_prompt


def _write_prompts(path: Path, objects: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"objects": objects}))
    return path


def test_prompts_file_of_the_issue_form_with_a_relative_mask(tmp_path: Path) -> None:
    p = _write_prompts(tmp_path / "shot" / "prompts.json", [{"name": "dancer", "prompts": [
        {"frame": 0, "points": [[412, 230, 1], [380, 400, 0]]},
        {"frame": 0, "box": [300, 120, 520, 470]},
        {"frame": 40, "mask": "fix_040.png"}]}])
    objs = load_prompts(p)
    assert [o.name for o in objs] == ["dancer"]
    assert objs[0].prompts[0].points == [(412, 230, 1), (380, 400, 0)]
    assert objs[0].prompts[2].mask == str(tmp_path / "shot" / "fix_040.png")


def test_prompts_file_errors_name_the_file_and_field(tmp_path: Path) -> None:
    p = _write_prompts(tmp_path / "p.json", [{"name": "x", "prompts": [{"frame": 0, "box": [1, 2, 3]}]}])
    with pytest.raises(SpecError) as info:
        load_prompts(p)
    assert str(p) in info.value.field and "objects[0].prompts[0].box" in info.value.field
    p = _write_prompts(tmp_path / "dup.json", [{"name": "x", "prompts": [{"frame": 0, "box": [1, 2, 3, 4]}]},
                                               {"name": "x", "prompts": [{"frame": 0, "box": [1, 2, 3, 4]}]}])
    with pytest.raises(SpecError, match=r"objects\[1\]\.name.*duplicate object name 'x'"):
        load_prompts(p)
    (tmp_path / "notjson.json").write_text("{objects: 1")
    with pytest.raises(SpecError, match="not valid JSON"):
        load_prompts(tmp_path / "notjson.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(SpecError, match='"objects" list'):
        load_prompts(tmp_path / "list.json")


def test_duplicate_names_use_the_shared_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """load_prompts refuses duplicate names through inkpaint.jobs.names.check_unique_names (the rule RotoJob.validate
    and the worker use), with the file named in the field."""
    from inkpaint.jobs import names
    from inkpaint.ops import roto

    objs = [{"name": n, "prompts": [{"frame": 0, "box": [1, 2, 3, 4]}]} for n in ("cat", "dog", "cat")]
    p = _write_prompts(tmp_path / "dup.json", objs)
    with pytest.raises(SpecError) as info:
        load_prompts(p)
    with pytest.raises(SpecError) as shared:
        names.check_unique_names([RotoObject(o["name"], []) for o in objs], "objects")
    assert info.value.field == f"{p}: {shared.value.field}" == f"{p}: objects[2].name"
    assert info.value.message == shared.value.message == "duplicate object name 'cat' (also objects[0])"
    calls: list[str] = []
    monkeypatch.setattr(roto, "check_unique_names", lambda objects, field: calls.append(field))
    assert [o.name for o in load_prompts(p)] == ["cat", "dog", "cat"] and calls == ["objects"]  # the check is the shared one


def test_selecting_objects_by_name(tmp_path: Path) -> None:
    p = _write_prompts(tmp_path / "p.json", [{"name": n, "prompts": [{"frame": 0, "box": [1, 2, 3, 4]}]} for n in ("x", "y", "z")])
    assert [o.name for o in load_prompts(p, ["z", "x"])] == ["z", "x"]
    with pytest.raises(SpecError) as info:
        load_prompts(p, ["x", "zed"])
    assert info.value.field == "--objects" and "'zed'" in str(info.value) and "x, y, z" in str(info.value)


def test_mask_prompt_uses_alpha_only_when_it_holds_a_matte(tmp_path: Path) -> None:
    h, w = 20, 30
    inside = np.zeros((h, w), bool)
    inside[5:15, 10:20] = True
    rgba_opaque = np.zeros((h, w, 4), np.float32)
    rgba_opaque[..., :3] = inside[..., None]
    rgba_opaque[..., 3] = 1.0  # an RGBA export: the mask is in the colour, alpha says nothing
    write_png(str(tmp_path / "opaque.png"), rgba_opaque)
    np.testing.assert_array_equal(read_mask_prompt(str(tmp_path / "opaque.png"), (w, h), "m"), inside)
    write_exr(str(tmp_path / "alpha.exr"), {"A": inside.astype(np.float32), "R": np.ones((h, w)), "G": np.ones((h, w)), "B": np.ones((h, w))})
    np.testing.assert_array_equal(read_mask_prompt(str(tmp_path / "alpha.exr"), (w, h), "m"), inside)
    write_png(str(tmp_path / "grey.png"), inside.astype(np.float32))
    np.testing.assert_array_equal(read_mask_prompt(str(tmp_path / "grey.png"), (w, h), "m"), inside)


def test_mask_prompt_errors(tmp_path: Path) -> None:
    write_png(str(tmp_path / "empty.png"), np.zeros((20, 30), np.float32))
    with pytest.raises(SpecError) as info:
        read_mask_prompt(str(tmp_path / "empty.png"), (30, 20), "objects[0].prompts[2].mask")
    assert info.value.field == "objects[0].prompts[2].mask" and "empty" in str(info.value)
    with pytest.raises(SpecError, match="40x20.*30x20"):
        write_png(str(tmp_path / "wide.png"), np.ones((20, 40), np.float32))
        read_mask_prompt(str(tmp_path / "wide.png"), (30, 20), "m")
    with pytest.raises(SpecError, match="cannot read mask"):
        read_mask_prompt(str(tmp_path / "none.png"), (30, 20), "m")


def _job(prompts: list[Prompt], objects: int = 1) -> RotoJob:
    return RotoJob(input="/p/s.####.exr", output="/o/s.####.exr",
                   objects=[RotoObject(f"o{i}", prompts) for i in range(objects)])


@pytest.mark.parametrize(
    "prompt, field, words",
    [
        (Prompt(5, points=[(10, 10, 1), (101, 10, 1)]), "objects[0].prompts[0].points[1]", "outside the 100x50 image"),
        (Prompt(5, points=[(-1, 10, 0)]), "objects[0].prompts[0].points[0]", "outside"),
        (Prompt(5, box=(10, 10, 100, 51)), "objects[0].prompts[0].box", "outside the 100x50 image"),
        (Prompt(12, box=(10, 10, 20, 20)), "objects[0].prompts[0].frame", "outside the frames being processed (1-10)"),
    ],
)
def test_keyframe_checks(prompt: Prompt, field: str, words: str) -> None:
    with pytest.raises(SpecError) as info:
        build_keyframes(_job([prompt]), list(range(1, 11)), (100, 50))
    assert info.value.field == field and words in str(info.value)
    assert "object 'o0'" in str(info.value)  # names the object, the frame (field/words) and the click


def test_prompts_on_one_frame_merge_into_one_keyframe() -> None:
    kfs = build_keyframes(_job([Prompt(3, points=[(1, 1, 1)]), Prompt(3, box=(0, 0, 9, 9)), Prompt(7, points=[(2, 2, 0)])]),
                          list(range(1, 11)), (100, 50))["o0"]
    assert [k.frame for k in kfs] == [3, 7]
    assert kfs[0].box == (0, 0, 9, 9) and kfs[0].points.shape == (1, 3)
    assert len(kfs[1].negative_points) == 1 and len(kfs[1].positive_points) == 0


def _request(keys: dict[str, list[int]], direction: str = "both", done: set[int] = frozenset(), frames: range = range(1, 11)) -> RotoRequest:
    return RotoRequest(list(frames), list(keys), {n: [Keyframe(f) for f in fs] for n, fs in keys.items()}, direction,  # type: ignore[arg-type]
                       frozenset(done))


def test_plan_tracks_later_keyframe_wins_from_its_frame_on() -> None:
    tracks = plan_tracks(_request({"a": [3, 7]}))
    spans = {(t.start, t.direction): t.frames for t in tracks}
    assert spans[(3, "forward")] == [3, 4, 5, 6]
    assert spans[(7, "forward")] == [7, 8, 9, 10]
    assert spans[(3, "backward")] == [3, 2, 1]
    covered = {f for t in tracks for f in t.frames}
    assert covered == set(range(1, 11))


def test_plan_tracks_groups_objects_and_directions() -> None:
    tracks = plan_tracks(_request({"a": [1], "b": [1]}, "forward"))
    assert len(tracks) == 1 and tracks[0].objects == ["a", "b"] and tracks[0].frames == list(range(1, 11))
    req = _request({"a": [5]}, "forward")
    assert req.expected_objects(4) == [] and req.expected_objects(5) == ["a"]
    back = plan_tracks(_request({"a": [5]}, "backward"))
    assert [t.frames for t in back] == [[5, 4, 3, 2, 1]]


def test_plan_tracks_resume_restarts_from_the_last_done_frame() -> None:
    tracks = plan_tracks(_request({"a": [1]}, "forward", done={1, 2, 3, 4}))
    assert len(tracks) == 1 and tracks[0].seed == "done" and tracks[0].frames == list(range(4, 11))
    assert plan_tracks(_request({"a": [1]}, "forward", done=set(range(1, 11)))) == []
