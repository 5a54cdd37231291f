"""Grammar simulator: plants real motifs into backgrounds and records where (see README)."""

from .dataset import (
    INSTANCE_COLUMNS,
    TRUTH_COLUMNS,
    SimulatedDataset,
    check_instances,
    check_one_hot,
    empty_instances,
    one_hot_to_strings,
    strings_to_one_hot,
)
from .motifs import (
    Motif,
    MotifError,
    from_consensus,
    from_counts,
    information_content,
    jaspar_motif,
    read_jaspar,
    read_meme,
    read_motif_file,
    write_meme,
)
from .backgrounds import BackgroundModel, base_frequencies, dinucleotide_frequencies, markov_transitions
from .grammar import ResolvedSpec, SpecError, parse_spec
from .presets import PAPER_PRESETS, list_presets, load_preset, preset_path
from .simulate import simulate
from .validation import validate_one_hot_shape
