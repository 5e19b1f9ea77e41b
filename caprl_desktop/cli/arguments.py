"""The options of ``caption``, ``caption --resume`` and ``jobs resume``, defined once, and the choices they make.

Each group is added by one function, so both commands offer the same flags with the same meaning. Options
that a resumed run can change (sampling, caption length, where captions go, how the engine loads) default to
None: on a resume, what is not given keeps the run's own value; on a new run it takes ``CaptionSettings``'
default. ``settings_from_args`` turns them into the same ``CaptionSettings`` the window keeps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from caprl_desktop.core.export.writers import CSV_COLUMN_SETS
from caprl_desktop.core.jobs.opening import ResumeChanges
from caprl_desktop.core.jobs.options import EXISTING_CHOICES, METADATA_MODES
from caprl_desktop.core.params import DEFAULT_IMAGE_BUDGET, IMAGE_BUDGET_PRESETS, GenerationParams
from caprl_desktop.core.prompts import PRESETS, default_language, parse_language
from caprl_desktop.core.settings import CaptionSettings

_DEFAULTS = GenerationParams()
SAMPLING_FIELDS = ("max_tokens", "temperature", "top_p", "repeat_penalty", "seed")


def _at_least_one(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_prompt_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lang", type=parse_language, default=None, metavar="ja|en",
                   help="caption language (default: from the system locale)")
    p.add_argument("--preset", choices=PRESETS, default="detailed",
                   help="detailed description, one-sentence caption, or text transcription (default: detailed)")
    p.add_argument("--prompt", help="your own prompt instead of the preset")
    p.add_argument("--system-prompt", help="replace the system prompt chosen for the language")
    guards = p.add_argument_group("caption guards")
    guards.add_argument("--no-guards", action="store_true",
                        help="keep every caption as the model writes it: by default one that repeats itself or comes "
                             "in the other language is stopped at once and tried once more, then kept marked")
    guards.add_argument("--strip-openings", action="store_true",
                        help='drop stock openings such as "This image shows" or 「この画像は」 from the captions')


def add_model_options(p: argparse.ArgumentParser) -> None:
    model = p.add_argument_group("model")
    model.add_argument("--model", help="an installed quant (Q4_K_M, i1-Q4_K_M) or a GGUF file "
                       "(default: the default model, see `caprl-desktop models list`)")
    model.add_argument("--mmproj", type=Path, help="the vision projector for a --model given as a file "
                       "(default: the one found beside the model)")
    model.add_argument("--yes", "-y", action="store_true",
                       help="when no model is installed, download the recommended one without asking")
    model.add_argument("--gpu-layers", type=int, default=None, metavar="N",
                       help="layers to offload to the GPU (default: all when the build supports a GPU; 0: CPU)")
    model.add_argument("--threads", type=int, default=None, metavar="N", help="CPU threads")
    model.add_argument("--parallel", type=_at_least_one, default=None, metavar="N",
                       help="captions decoded side by side (default: sized from the GPU or CPU and free memory; "
                            "1: one at a time)")
    model.add_argument("--engine", action="append", default=None, metavar="URL[#N]|NAME",
                       help="caption on an OpenAI-compatible server (vLLM, llama-server, LM Studio) instead of this "
                            "computer, e.g. http://gpu-box:8000/v1#8 (#N: captions it takes at once, default 4), or "
                            "a name saved with `caprl-desktop engines add`; repeat it to spread the images over "
                            "several servers")


def add_output_options(p: argparse.ArgumentParser, *, new_run: bool) -> None:
    out = p.add_argument_group("output")
    whole = " (a resumed run: the whole run, earlier captions included)"
    out.add_argument("--csv", metavar="FILE",
                     help="also write a CSV (UTF-8 with BOM, opens in Excel); - for stdout" + whole)
    out.add_argument("--csv-columns", choices=CSV_COLUMN_SETS, default="default",
                     help="default: file, caption, language, prompt, model, time, tokens, error, path; full: "
                          "also where each caption came from (model checksums, device, sampling, the seed used, "
                          "image size, timings)")
    out.add_argument("--jsonl", metavar="FILE",
                     help="also write JSON Lines, each with its provenance; - for stdout" + whole)
    if new_run:
        out.add_argument("--no-sidecar", action="store_true", help="do not write .txt files beside the images")
        out.add_argument("--overwrite", action="store_true", help="caption images that already have a sidecar")
    out.add_argument("--output-dir", type=Path, metavar="DIR",
                     help="write the .txt captions under DIR (a subfolder per folder given) instead of beside "
                          "the images: for read-only folders")
    keeps = "; a resumed run keeps its own unless given" if not new_run else ""
    out.add_argument("--metadata", choices=METADATA_MODES, default=None,
                     help="also write each caption as the image's description: embed: inside JPEG, PNG, WebP and "
                          "TIFF files (other types and files that cannot be written: an XMP sidecar photo.xmp); "
                          f"xmp: always an XMP sidecar beside the .txt; off (default{keeps})")
    out.add_argument("--metadata-existing", choices=EXISTING_CHOICES, default=None,
                     help="a description someone else wrote: keep it (default), or replace it "
                          f"(`caprl-desktop metadata restore` puts it back){keeps}")


def add_generation_options(p: argparse.ArgumentParser) -> None:
    keeps = "; a resumed run keeps its own unless given"
    gen = p.add_argument_group("generation")
    gen.add_argument("--max-tokens", type=int, default=None, metavar="N",
                     help=f"longest caption in tokens (default: {_DEFAULTS.max_tokens}{keeps})")
    gen.add_argument("--temperature", type=float, default=None, metavar="T",
                     help=f"0 for greedy decoding (default: {_DEFAULTS.temperature}{keeps})")
    gen.add_argument("--top-p", type=float, default=None, metavar="P", help=f"(default: {_DEFAULTS.top_p}{keeps})")
    gen.add_argument("--repeat-penalty", type=float, default=None, metavar="R",
                     help=f"(default: {_DEFAULTS.repeat_penalty}{keeps})")
    gen.add_argument("--seed", type=int, default=None, metavar="S",
                     help="fixed seed for reproducible captions (default: a fresh one per caption, recorded)")


def add_image_options(p: argparse.ArgumentParser) -> None:
    img = p.add_argument_group("image detail (image tokens; more reads small text better, fewer is faster)")
    img.add_argument("--detail", choices=list(IMAGE_BUDGET_PRESETS), default=DEFAULT_IMAGE_BUDGET,
                     help="; ".join(f"{k}: up to {v} tokens" for k, v in IMAGE_BUDGET_PRESETS.items())
                     + f" (default: {DEFAULT_IMAGE_BUDGET})")
    img.add_argument("--image-max-tokens", type=int, default=None, metavar="N", help="overrides --detail")
    img.add_argument("--image-min-tokens", type=int, default=None, metavar="N",
                     help="enlarge small images to at least N tokens")


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, object]:
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def settings_from_args(args: argparse.Namespace) -> CaptionSettings:
    """The choices of a new run; raises ``ValueError`` with a sentence for a bad value."""
    return CaptionSettings(
        language=args.lang or default_language(),
        preset=None if args.prompt else args.preset,
        custom_prompt=args.prompt or "",
        system_prompt=args.system_prompt,
        detail=args.detail,
        image_max_tokens=args.image_max_tokens,
        image_min_tokens=args.image_min_tokens,
        gpu_layers=args.gpu_layers,
        threads=args.threads,
        parallel=args.parallel,
        overwrite=args.overwrite,
        write_sidecars=not args.no_sidecar,
        caption_folder=str(args.output_dir) if args.output_dir else "",
        metadata=args.metadata or "off",
        metadata_existing=args.metadata_existing or "keep",
        guards=not args.no_guards,
        strip_openings=args.strip_openings,
        **_given(args, SAMPLING_FIELDS),  # type: ignore[arg-type]
    )


def engine_settings_from_args(args: argparse.Namespace) -> CaptionSettings:
    """For a resumed run: only how the engine loads comes from the command line."""
    return CaptionSettings(gpu_layers=args.gpu_layers, threads=args.threads, parallel=args.parallel)


def resume_changes(args: argparse.Namespace) -> ResumeChanges:
    """What this resume changes in the run's options: the sampling options given, ``--output-dir`` and the
    ``--metadata`` choices given (the model that makes its captions from now on is ``open_run``'s to add)."""
    return ResumeChanges(
        max_tokens=args.max_tokens, temperature=args.temperature, top_p=args.top_p,
        repeat_penalty=args.repeat_penalty, seed=args.seed, caption_folder=getattr(args, "output_dir", None),
        metadata=getattr(args, "metadata", None), metadata_existing=getattr(args, "metadata_existing", None))
