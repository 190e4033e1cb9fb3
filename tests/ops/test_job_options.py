"""CLI options built from job fields (inkpaint.ops.job_options): `inkpaint ink` parses exactly as its hand-written
parser did (the old parser is kept here as the reference), and the builder refuses what it cannot express."""

from __future__ import annotations

import argparse
import dataclasses
import os

import pytest

from inkpaint.jobs.ink import InkJob
from inkpaint.jobs.paint import TINY_SEGMENT, PaintJob, PaintKey
from inkpaint.ops import ink
from inkpaint.ops.base import split_names
from inkpaint.ops.job_options import FieldOption, add_field_options, field_docs, job_kwargs
from inkpaint.spec import OutputSettings


def _old_parser() -> argparse.ArgumentParser:
    """`inkpaint ink` as written by hand before the options came from InkJob's fields (minus the common options)."""
    p = argparse.ArgumentParser()
    p.add_argument("--mattes", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--width", type=float, default=2.0)
    p.add_argument("--width-reference", type=int)
    p.add_argument("--tones")
    p.add_argument("--tone-width", type=float)
    p.add_argument("--smooth-lines", type=float, default=1.0, metavar="SIGMA")
    p.add_argument("--no-silhouette", action="store_true")
    p.add_argument("--no-inner", action="store_true")
    p.add_argument("--parts")
    p.add_argument("--frames")
    return p


def _old_job(args: argparse.Namespace) -> InkJob:
    return InkJob(mattes=os.path.abspath(args.mattes), output=os.path.abspath(args.out), frames=args.frames, width=args.width,
                  width_reference=args.width_reference, silhouette=not args.no_silhouette, inner=not args.no_inner,
                  tones=os.path.abspath(args.tones) if args.tones else None, tone_width=args.tone_width, smooth=args.smooth_lines,
                  parts=split_names(args.parts, "--parts"), output_options=OutputSettings())


ARGVS = [
    ["--mattes", "m.####.exr", "--out", "i.####.exr"],
    ["--mattes", "/a/m.####.exr", "--out", "i.####.png", "--width", "3.5", "--width-reference", "1080", "--tones",
     "t.####.exr", "--tone-width", "1.5", "--smooth-lines", "0", "--no-silhouette", "--parts", "body, head", "--frames", "1-4"],
    ["--mattes", "m.####.exr", "--out", "i.####.exr", "--no-inner", "--no-silhouette", "--tones", "t.####.exr"],
]


@pytest.mark.parametrize("argv", ARGVS)
def test_ink_options_parse_as_the_hand_written_parser_did(argv: list[str]) -> None:
    new = argparse.ArgumentParser()
    add_field_options(new, InkJob, ink.CLI_OPTIONS)
    got = InkJob(**job_kwargs(new.parse_args(argv), InkJob, ink.CLI_OPTIONS), output_options=OutputSettings())
    assert dataclasses.asdict(got) == dataclasses.asdict(_old_job(_old_parser().parse_args(argv)))
    assert vars(new.parse_args(argv)) == vars(_old_parser().parse_args(argv))  # same dests, types and defaults


def test_required_fields_and_types_come_from_the_dataclass() -> None:
    p = argparse.ArgumentParser()
    add_field_options(p, InkJob, ink.CLI_OPTIONS)
    with pytest.raises(SystemExit):
        p.parse_args(["--out", "i.####.exr"])  # mattes has no default: required
    with pytest.raises(SystemExit):
        p.parse_args(["--mattes", "m.####.exr", "--out", "i.####.exr", "--width-reference", "1080.5"])  # int field
    text = p.format_help()
    assert "line width in pixels (default 2)" in text and "``" not in text
    with pytest.raises(SystemExit):
        _parse_empty_parts(p)


def _parse_empty_parts(p: argparse.ArgumentParser) -> None:
    from inkpaint.errors import SpecError

    try:
        job_kwargs(p.parse_args(["--mattes", "m", "--out", "o", "--parts", " , "]), InkJob, ink.CLI_OPTIONS)
    except SpecError as exc:
        assert exc.field == "--parts"
        raise SystemExit(2) from None


def test_builder_refuses_what_it_cannot_express() -> None:
    with pytest.raises(TypeError, match="no field"):
        add_field_options(argparse.ArgumentParser(), InkJob, [FieldOption("nope")])
    with pytest.raises(TypeError, match="--no-"):
        add_field_options(argparse.ArgumentParser(), InkJob, [FieldOption("silhouette")])
    with pytest.raises(TypeError, match="no command-line form"):
        add_field_options(argparse.ArgumentParser(), InkJob, [FieldOption("output_options")])


def test_field_docs_reads_google_attributes() -> None:
    docs = field_docs(InkJob)
    assert docs["width"] == "line width in pixels." and docs["smooth"].startswith("part boundaries are smoothed")
    assert "as before" in docs["smooth"]  # continuation lines joined


def _old_finish_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--mattes", required=True)
    p.add_argument("--tones")
    p.add_argument("--ink")
    p.add_argument("--palette", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--over")
    p.add_argument("--no-layers", action="store_true")
    p.add_argument("--frames")
    return p


@pytest.mark.parametrize("argv", [
    ["--mattes", "m.####.exr", "--palette", "p.yml", "--out", "c.####.exr"],
    ["--mattes", "m.####.exr", "--palette", "/x/p.yml", "--out", "c.####.png", "--tones", "t.####.exr", "--ink",
     "i.####.exr", "--over", "bg.exr", "--no-layers", "--frames", "2-3"],
])
def test_finish_options_parse_as_the_hand_written_parser_did(argv: list[str]) -> None:
    from inkpaint.jobs.finish import FinishJob
    from inkpaint.ops import finish

    new = argparse.ArgumentParser()
    add_field_options(new, FinishJob, finish.CLI_OPTIONS)
    assert vars(new.parse_args(argv)) == vars(_old_finish_parser().parse_args(argv))
    old = _old_finish_parser().parse_args(argv)
    ab = lambda v: os.path.abspath(v) if v else None  # noqa: E731
    want = FinishJob(mattes=ab(old.mattes), palette=ab(old.palette), output=ab(old.out), tones=ab(old.tones), ink=ab(old.ink),
                     over=ab(old.over), frames=old.frames, layers=not old.no_layers)
    assert FinishJob(**job_kwargs(new.parse_args(argv), FinishJob, finish.CLI_OPTIONS)) == want


def _old_shade_parser() -> argparse.ArgumentParser:
    """`inkpaint shade` as written by hand before the options came from ShadeJob's fields (minus the common options)."""
    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("--mattes", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--model")
    p.add_argument("--frames")
    p.add_argument("--tones", type=int, default=2)
    p.add_argument("--fit-frames")
    p.add_argument("--fit-samples", type=int, default=12)
    p.add_argument("--part", action="append")
    p.add_argument("--shadow", type=float)
    p.add_argument("--smoothing", type=float, default=1.0)
    p.add_argument("--hysteresis", type=float, default=0.04)
    p.add_argument("--min-region", type=int, default=24)
    p.add_argument("--no-contact-sheet", dest="contact_sheet", action="store_false")
    p.add_argument("--method", choices=["classic", "learned"], default="classic")
    return p


SHADE_ARGVS = [
    ["p.####.exr", "--mattes", "m.####.exr", "--out", "t.####.exr"],
    ["/a/p.####.exr", "--mattes", "m.####.exr", "--out", "t.####.exr", "--model", "tm.json", "--frames", "1-9", "--tones", "4",
     "--fit-frames", "1,5", "--fit-samples", "3", "--part", "skin:shadow=0.3", "--part", "hair:tones=3,threshold_l=35",
     "--shadow", "0.25", "--smoothing", "0", "--hysteresis", "0.1", "--min-region", "0", "--no-contact-sheet",
     "--method", "learned"],
]


@pytest.mark.parametrize("argv", SHADE_ARGVS)
def test_shade_options_parse_as_the_hand_written_parser_did(argv: list[str]) -> None:
    from inkpaint.jobs.shade import ShadeJob
    from inkpaint.ops import shade

    new = argparse.ArgumentParser()
    add_field_options(new, ShadeJob, shade.CLI_OPTIONS)
    shade.add_tone_options(new)
    assert vars(new.parse_args(argv)) == vars(_old_shade_parser().parse_args(argv))  # same dests, types and defaults
    old = _old_shade_parser().parse_args(argv)
    want = ShadeJob(input=os.path.abspath(old.input), mattes=os.path.abspath(old.mattes), output=os.path.abspath(old.out),
                    frames=old.frames, tones=old.tones, fit_frames=old.fit_frames, fit_samples=old.fit_samples,
                    parts=shade.parse_part_overrides(old.part), hysteresis=old.hysteresis, min_region=old.min_region,
                    method=old.method, shadow=old.shadow, smoothing=old.smoothing, contact_sheet=old.contact_sheet,
                    model=os.path.abspath(old.model) if old.model else None)
    args = new.parse_args(argv)
    assert ShadeJob(**job_kwargs(args, ShadeJob, shade.CLI_OPTIONS), **shade.tone_settings_from_args(args)) == want
    with pytest.raises(SystemExit):
        new.parse_args([*argv, "--method", "fancy"])  # Literal field: choices
    with pytest.raises(SystemExit):
        new.parse_args([*argv, "--tones", "2.5"])  # int field


def test_shade_help_keeps_hidden_and_percent_texts() -> None:
    from inkpaint.jobs.shade import ShadeJob
    from inkpaint.ops import shade

    p = argparse.ArgumentParser()
    add_field_options(p, ShadeJob, shade.CLI_OPTIONS)
    shade.add_tone_options(p)
    text = " ".join(p.format_help().split())
    assert "--hysteresis" not in text  # argparse.SUPPRESS survives (no "(default ...)" appended to it)
    assert "(default 24; regions under 1% of their part go too)" in text and "(default 12)" in text
    assert "{classic,learned}" in text


def test_docstring_help_escapes_percent() -> None:
    @dataclasses.dataclass
    class Job:
        """A job.

        Attributes:
            share: share of the frame, 0..100% (0 = off).
        """

        share: float = 5.0

    p = argparse.ArgumentParser()
    add_field_options(p, Job, [FieldOption("share")])
    assert "0..100% (0 = off) (default 5)" in " ".join(p.format_help().split())


def _old_cel_parser() -> argparse.ArgumentParser:
    """`inkpaint cel` as written by hand before the options came from CelJob's fields; the shared option groups
    (backend, common) are the same functions as before, the tone options the old hand-written ones."""
    from inkpaint.ops.cli_options import add_backend_options, add_common_options

    p = argparse.ArgumentParser()
    p.add_argument("input")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--prompts")
    src.add_argument("--mattes")
    p.add_argument("--palette", required=True)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--frames")
    add_backend_options(p)
    p.add_argument("--width", type=float, default=2.0)
    p.add_argument("--width-reference", type=int)
    p.add_argument("--tone-lines", action="store_true")
    p.add_argument("--smooth-lines", type=float, default=1.0, metavar="SIGMA")
    p.add_argument("--over")
    p.add_argument("--over-colorspace")
    p.add_argument("--cel-format", choices=["exr", "png"], default="exr")
    tones = _old_shade_parser()
    for action in tones._actions[6:]:  # after -h, input, --mattes, --out, --model, --frames: the tone options
        p._add_action(action)
    add_common_options(p)
    return p


@pytest.mark.parametrize("argv", [
    ["p.####.exr", "--mattes", "m.####.exr", "--palette", "pal.yml", "--out-dir", "o"],
    ["/a/p.####.exr", "--prompts", "prompts.json", "--palette", "/b/pal.yml", "--out-dir", "o", "--frames", "1-3",
     "--backend", "classic", "--direction", "forward", "--width", "1.5", "--width-reference", "540", "--tone-lines",
     "--smooth-lines", "0", "--over", "bg.####.exr", "--over-colorspace", "sRGB", "--cel-format", "png", "--tones", "3",
     "--part", "skin:shadow=0.2", "--no-contact-sheet", "--colorspace", "lin_rec709_scene", "--overwrite"],
])
def test_cel_options_parse_as_the_hand_written_parser_did(argv: list[str]) -> None:
    from inkpaint.ops import cel

    sub = argparse.ArgumentParser().add_subparsers()
    cel.add_cli(sub)
    new = sub.choices["cel"]
    got, want = vars(new.parse_args(argv)), vars(_old_cel_parser().parse_args(argv))
    assert got.pop("make_job") is cel._job_from_args
    assert got == want  # same dests, types and defaults
    if "--mattes" in argv:  # (--prompts needs the file) the job too
        args = new.parse_args(argv)
        job = cel._job_from_args(args)
        assert (job.input, job.palette, job.out_dir, job.mattes) == tuple(
            os.path.abspath(v) for v in ("p.####.exr", "pal.yml", "o", "m.####.exr"))
        assert (job.width, job.width_reference, job.tone_lines, job.smooth_lines, job.over, job.cel_format) == (
            2.0, None, False, 1.0, None, "exr")
        assert job.objects == [] and job.contact_sheet is True and job.tones == 2


def _old_backend_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", default="classic")
    p.add_argument("--model")
    p.add_argument("--checkpoint")
    p.add_argument("--device")
    p.add_argument("--image-size", type=int)
    p.add_argument("--direction", choices=["forward", "backward", "both"], default="both")


def _old_roto_parser() -> argparse.ArgumentParser:
    """`inkpaint roto` as written by hand before the options came from RotoJob's fields (common options: the same
    function as before)."""
    from inkpaint.ops.cli_options import add_common_options

    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("--prompts", required=True)
    p.add_argument("--out")
    p.add_argument("--out-dir")
    p.add_argument("--qc", action="store_true")
    p.add_argument("--no-contact-sheet", dest="contact_sheet", action="store_false")
    p.add_argument("--frames")
    p.add_argument("--objects")
    _old_backend_options(p)
    p.add_argument("--contours", action="store_true")
    p.add_argument("--contour-tolerance", type=float, default=1.0)
    p.add_argument("--cryptomatte", action="store_true")
    add_common_options(p)
    return p


@pytest.mark.parametrize("argv", [
    ["p.####.exr", "--prompts", "prompts.json", "--out", "r.####.exr"],
    ["/a/p.####.exr", "--prompts", "prompts.json", "--out-dir", "roto", "--qc", "--no-contact-sheet", "--frames", "1-9x2",
     "--objects", "cat,dog", "--backend", "sam2", "--model", "tiny", "--checkpoint", "c.pt", "--device", "cpu", "--image-size",
     "512", "--direction", "backward", "--contours", "--contour-tolerance", "0.5", "--cryptomatte"],
])
def test_roto_options_parse_as_the_hand_written_parser_did(argv: list[str], tmp_path) -> None:
    from inkpaint.ops import roto

    sub = argparse.ArgumentParser().add_subparsers()
    roto.add_cli(sub)
    new = sub.choices["roto"]
    got = vars(new.parse_args(argv))
    assert got.pop("make_job") is roto._job_from_args
    assert got == vars(_old_roto_parser().parse_args(argv))  # same dests, types and defaults
    with pytest.raises(SystemExit):
        new.parse_args([*argv, "--direction", "sideways"])  # Literal field: choices
    # the job (prompts file needed): fields from the options, the rest as before
    (tmp_path / "prompts.json").write_text('{"objects": [{"name": "dog", "prompts": [{"frame": 1, "points": [[1, 1, 1]]}]},'
                                           ' {"name": "cat", "prompts": [{"frame": 1, "points": [[2, 2, 1]]}]}]}')
    args = new.parse_args([str(tmp_path / "prompts.json") if v == "prompts.json" else v for v in argv])
    job = roto._job_from_args(args)
    old = _old_roto_parser().parse_args(argv)
    assert (job.input, job.frames, job.qc, job.contact_sheet, job.contours, job.contour_tolerance, job.cryptomatte) == (
        os.path.abspath(old.input), old.frames, old.qc, old.contact_sheet, old.contours, old.contour_tolerance, old.cryptomatte)
    assert (job.backend, job.direction, [o.name for o in job.objects]) == (
        old.backend, old.direction, ["cat", "dog"] if old.objects else ["dog", "cat"])
    assert job.backend_options == ({"model": "tiny", "checkpoint": os.path.abspath("c.pt"), "device": "cpu", "image_size": 512}
                                   if old.model else {})


def _old_paint_parser() -> argparse.ArgumentParser:
    """`inkpaint paint` as written by hand before the options came from PaintJob's fields (common options: the same
    function as before)."""
    from inkpaint.ops.cli_options import add_common_options

    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("--out", required=True)
    p.add_argument("--key", action="append", default=[], metavar="FRAME=FILE")
    p.add_argument("--click", action="append", default=[], metavar="FRAME:X,Y=COLOUR")
    p.add_argument("--ref", action="append", default=[])  # hand-written (PaintRef entries), added since (issue 16)
    p.add_argument("--palette")
    p.add_argument("--direction", choices=["forward", "backward", "nearest"], default="nearest")
    p.add_argument("--frames")
    p.add_argument("--max-gap", type=int, default=0)
    p.add_argument("--speck-size", type=int, default=0)
    p.add_argument("--line-threshold", type=float, default=0.5)
    p.add_argument("--confidence", type=float, default=0.5)
    p.add_argument("--line-shading", type=float, default=3.0)
    p.add_argument("--tiny-segments", type=int, default=TINY_SEGMENT)
    p.add_argument("--method", choices=["auto", "learned", "classic"], default="auto")
    p.add_argument("--composite-lines", action="store_true")
    p.add_argument("--no-qc", action="store_true")
    add_common_options(p)
    return p


def _old_paint_job(args: argparse.Namespace) -> PaintJob:
    """The old `_job_from_args` field mapping (keys left to the shared key/click parsing)."""
    return PaintJob(
        input=os.path.abspath(args.input), output=os.path.abspath(args.out), keys=[PaintKey(0, image="k")],
        palette=os.path.abspath(args.palette) if args.palette else None, direction=args.direction, frames=args.frames,
        max_gap=args.max_gap, speck_size=args.speck_size, line_threshold=args.line_threshold, confidence=args.confidence,
        line_shading=args.line_shading, tiny_segments=args.tiny_segments, method=args.method,
        composite_lines=args.composite_lines, qc_output="" if args.no_qc else None, output_options=OutputSettings())


@pytest.mark.parametrize("argv", [
    ["line/####.png", "--out", "paint/####.png", "--key", "0=k0.png"],
    ["/a/line.####.png", "--out", "fill.####.exr", "--key", "0=k0.png", "--key", "4=k4.segments.json", "--click",
     "2:10,20=skin/shadow", "--palette", "pal.yml", "--direction", "forward", "--frames", "0-8", "--max-gap", "3",
     "--speck-size", "12", "--line-threshold", "0.25", "--confidence", "0.6", "--line-shading", "0", "--tiny-segments",
     "0", "--method", "classic", "--composite-lines", "--no-qc", "--overwrite"],
])
def test_paint_options_parse_as_the_hand_written_parser_did(argv: list[str]) -> None:
    from inkpaint.ops import paint

    sub = argparse.ArgumentParser().add_subparsers()
    paint.add_cli(sub)
    new = sub.choices["paint"]
    got = vars(new.parse_args(argv))
    assert got.pop("make_job") is paint._job_from_args
    old_args = _old_paint_parser().parse_args(argv)
    assert got == vars(old_args)  # same dests, types and defaults
    with pytest.raises(SystemExit):
        new.parse_args([*argv, "--method", "magic"])  # Literal field: choices
    with pytest.raises(SystemExit):
        new.parse_args([*argv, "--max-gap", "1.5"])  # int field
    job = paint._job_from_args(new.parse_args(argv))
    want = _old_paint_job(old_args)
    want.keys, want.refs = job.keys, job.refs  # --key/--click/--ref stay hand-parsed
    assert dataclasses.asdict(job) == dataclasses.asdict(dataclasses.replace(want, output_options=job.output_options))
    assert [(k.frame, k.image, k.segments_json, k.clicks) for k in job.keys] == (
        [(0, os.path.abspath("k0.png"), None, None)] if len(argv) == 5 else
        [(0, os.path.abspath("k0.png"), None, None), (2, None, None, [[10.0, 20.0, "skin/shadow"]]),
         (4, None, os.path.abspath("k4.segments.json"), None)])


def test_paint_help_keeps_the_old_texts() -> None:
    from inkpaint.ops import paint

    sub = argparse.ArgumentParser().add_subparsers()
    paint.add_cli(sub)
    text = " ".join(sub.choices["paint"].format_help().split())
    for phrase in ("close line gaps up to this many px (default 0 = off)", "ink threshold 0..1 (default 0.5)",
                   "0 = off (default 3)", "0 = off (default 10)", "draw the line layer over the fill in --out",
                   "{forward,backward,nearest}", "{auto,learned,classic}", "don't write QC overlays"):
        assert phrase in text, phrase
