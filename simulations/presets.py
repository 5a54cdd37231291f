"""Named simulation presets shipped with the package (YAML files in ``presets/``)."""

from __future__ import annotations

import difflib
from pathlib import Path

import yaml

PRESET_DIR = Path(__file__).parent / "presets"

#: The six simulated datasets of the ARGMINN paper, in the paper's order.
PAPER_PRESETS = (
    "spi1_single",
    "tal_gata_mixture",
    "e2f6_max_cooperativity",
    "jund_tead_hard_spacing",
    "rest_both",
    "spi1_ctcf_repression",
)


def list_presets() -> list[str]:
    """Names of every shipped preset."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """The YAML file of a preset; an unknown name lists the presets and close matches."""
    path = PRESET_DIR / f"{name}.yaml"
    if not path.exists():
        names = list_presets()
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"unknown simulation preset {name!r}; presets are {names}.{hint}")
    return path


def load_preset(name: str) -> dict:
    """A preset spec as plain data (validate it with :func:`simulations.parse_spec`)."""
    return yaml.safe_load(preset_path(name).read_text())
