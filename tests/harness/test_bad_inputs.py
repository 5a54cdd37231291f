"""Bad inputs give one clear line naming the field (or file) and what was expected.

One table row per bad input: suites (as dicts and as files), grammar specs, motif files and inline
matrices, method and model parameters, training settings. Each row goes through the public entry point
(`bench.suite.load_suite`, `simulations.parse_spec`, `simulations.read_motif_file`,
`METHODS[name].check_params`, `models.check_model_params`, `models.TrainConfig.from_dict`) and must
raise the error class the command line turns into one line (a suite: `SuiteError`; a spec: `SpecError`;
a motif file: `MotifError`; parameters: `ValueError`), whose message holds the fragment and no newline.
The ids follow the review's bad-input table (`review-2026-12/reliability.md`) where a row comes from it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from bench.suite import SuiteError, load_suite, split_labels
from simulations import MotifError, SpecError, parse_spec, read_motif_file
from tests.specs import DELETE, edited

# a grammar that needs no JASPAR lookup, so a suite validates in milliseconds
SPEC = {"name": "tiny", "length": 60, "background": {"gc": 0.5}, "reject_matches": False,
        "motifs": {"M": {"consensus": "GATAAG"}},
        "classes": [{"name": "positive", "label": 1, "fraction": 0.5,
                     "configs": [{"name": "m", "motifs": [{"motif": "M"}]}]},
                    {"name": "negative", "label": 0, "fraction": 0.5, "configs": [{"name": "bg"}]}]}

SUITE = {"name": "t", "output": "out", "seeds": [0],
         "simulations": [{"spec": SPEC, "n": 200}],
         "models": [{"name": "cnn", "train": {"epochs": 1}}],
         "methods": [{"name": "deeplift_shap", "params": {"n_references": 2}}]}

# a grammar with a chain of two motifs and a gap, as the review's G cases
GRAMMAR = {"name": "g", "length": 100, "reject_matches": False,
           "motifs": {"A": {"consensus": "GATAAG"}, "B": {"consensus": "CACGTG"}},
           "classes": [{"name": "positive", "label": 1, "fraction": 0.5,
                        "configs": [{"name": "ab", "motifs": [{"motif": "A"},
                                                              {"motif": "B", "gap": {"min": 2, "max": 10}}]}]},
                       {"name": "negative", "label": 0, "fraction": 0.5, "configs": [{"name": "bg"}]}]}

_DELETE = DELETE


def _edit(base, path, value):
    return edited(base, path, value)


def suite(path, value):
    return _edit(SUITE, path, value)


def spec(path, value):
    return _edit(GRAMMAR, path, value)


def suite_spec(path, value):
    """The suite with its inline grammar edited."""
    return suite(("simulations", 0, "spec"), _edit(SPEC, path, value))


CHAIN = ("classes", 0, "configs", 0, "motifs")
SUITE_TRAIN = ("models", 0, "train")


def train(**kw):
    return suite(SUITE_TRAIN, {"epochs": 1, **kw})


def method(name, **params):
    return suite(("methods",), [{"name": name, "params": params}])


# --------------------------------------------------------------------------- files

MEME_HEAD = ("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\nBackground letter frequencies\n"
             "A 0.25 C 0.25 G 0.25 T 0.25\n\n")
ROWS = ["0.1 0.2 0.3 0.4", "0.7 0.1 0.1 0.1", "0.1 0.1 0.1 0.7", "0.25 0.25 0.25 0.25",
        "0.9 0.05 0.03 0.02", "0.1 0.8 0.05 0.05"]


def meme(rows, w=None, tail=""):
    w = len(rows) if w is None else w
    return (MEME_HEAD + f"MOTIF M1 alt1\nletter-probability matrix: alength= 4 w= {w} nsites= 20 E= 0\n"
            + "\n".join(rows) + "\n" + tail)


def write(name, content):
    """A file maker for a row: ``content`` as text or bytes into ``tmp/name``."""
    def make(tmp: Path) -> Path:
        p = tmp / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content)
        return p
    return make


def folder(name):
    def make(tmp: Path) -> Path:
        (tmp / name).mkdir()
        return tmp / name
    return make


def fifo(name):
    def make(tmp: Path) -> Path:
        os.mkfifo(tmp / name)  # opening it would block until a writer came: it must never be opened
        return tmp / name
    return make


def beside(files: dict, main: str, content):
    """Several files in one folder (a suite and what it names); returns the path of ``main``."""
    def make(tmp: Path) -> Path:
        for name, text in files.items():
            if text is None:
                (tmp / name).mkdir()
            elif isinstance(text, bytes):
                (tmp / name).write_bytes(text)
            else:
                (tmp / name).write_text(text)
        return write(main, content)(tmp)
    return make


def alias_bomb(levels=9, width=10):
    """``levels`` nested aliases, each a list of ``width`` copies of the one before: width**levels values."""
    lines = ["a0: &l0 [x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


BOMB_SUITE = ("anchors:\n" + "".join("  " + ln + "\n" for ln in alias_bomb().splitlines())
              + "name: t\nsimulations: [{preset: spi1_single, n: 100}]\nmodels: [{name: cnn}]\n"
              "methods:\n  - name: modisco\n    params: {window: *l8}\n")
SUITE_YAML = ("name: t\nseeds: [0]\nsimulations:\n  - spec: g.yaml\n    n: 100\nmodels: [{name: cnn}]\n")
SPEC_YAML = ("name: g\nlength: 60\nreject_matches: false\nmotifs: {M: {file: m.meme, id: M1}}\nclasses:\n"
             "  - {name: positive, label: 1, fraction: 0.5, configs: [{name: m, motifs: [{motif: M}]}]}\n"
             "  - {name: negative, label: 0, fraction: 0.5, configs: [{name: bg}]}\n")


def inline_file_suite(motif_file):
    spec_ = _edit(SPEC, ("motifs", "M"), {"file": motif_file, "id": "M1"})
    return "name: t\nsimulations:\n  - n: 100\n    spec: " + json.dumps(spec_) + "\nmodels: [{name: cnn}]\n"


# --------------------------------------------------------------------------- the table
# (id, kind, input, fragment): kind is suite | suite_file | spec | spec_file | motif_file | method | model | train

ROWS_TABLE = [
    # ---- suites: keys and types
    ("S01", "suite", suite(("seed",), 3), "seed: unknown key (not part of the suite)"),
    ("S02", "suite", suite(("simulations", 0, "size"), 3), "simulations[0].size: unknown key"),
    ("S03", "suite", suite(("models", 0, "trian"), {}), "models[0].trian: unknown key"),
    ("S07", "suite", suite(("interpret",), {"n_seqs": 30}), "interpret.n_seqs: unknown key"),
    ("S08", "suite", suite(("executor",), {"worker": 2}), "executor.worker: unknown key"),
    ("S10", "suite", suite(("simulations", 0, "n"), 600.5), "simulations[0].n: Input should be a valid integer"),
    ("S11", "suite", suite(("simulations", 0, "n"), -5), "simulations[0].n: Input should be greater than 0"),
    ("S11b", "suite", suite(("simulations", 0, "n"), True), "simulations[0].n: Input should be a number, not true"),
    ("S13", "suite", suite(("simulations",), []), "simulations: List should have at least 1 item"),
    ("S14", "suite", suite(("models",), []), "models: List should have at least 1 item"),
    ("S15", "suite", suite(("seeds",), []), "seeds: List should have at least 1 item"),
    ("S16", "suite", suite(("seeds",), ["a"]), "seeds[0]: Input should be a valid integer"),
    ("S17", "suite", suite(("seeds",), [0.5]), "seeds[0]: Input should be a valid integer"),
    ("S18", "suite", suite(("seeds",), [True]), "seeds[0]: Input should be a number, not true"),
    ("S19", "suite", suite(("seeds",), [0, 1, 0]),
     "seeds: each seed must appear once; 0 appears more than once in [0, 1, 0]"),
    ("S20", "suite", suite(("seeds",), 0), "seeds: Input should be a valid list"),
    ("S22", "suite", suite(("simulations", 0), {"preset": "spi1_singel", "n": 100}),
     "simulations[0].preset: unknown simulation 'spi1_singel'"),
    ("S22b", "suite", suite(("simulations", 0), {"preset": "spi1_singel", "n": 100}), "Did you mean spi1_single?"),
    ("S23", "suite", suite(("models", 0, "name"), "cnnn"), "models[0].name: unknown model 'cnnn'"),
    ("S23b", "suite", suite(("models", 0, "name"), "cnnn"), "Did you mean cnn"),
    ("S24", "suite", suite(("methods", 0, "name"), "deeplift_sharp"),
     "methods[0].name: unknown method 'deeplift_sharp'"),
    ("S25", "suite", suite(("metrics",), ["prediction", "instance"]),
     "metrics[1]: unknown metric family 'instance'"),
    ("S29", "suite", suite(("models", 0, "grid"), {"foo.bar": [1, 2]}),
     "models[0]: grid/zip key 'foo.bar' must be params.<name> or train.<name>"),
    ("S30", "suite", suite(("models", 0, "grid"), {"train.epochs": []}), "models[0]: 'train.epochs' lists no values"),
    ("S31", "suite", suite(("models", 0, "zip"), {"train.epochs": [1, 2], "train.lr": [0.1]}),
     "models[0].zip: lists must have one length"),
    ("S32", "suite", suite(("models",), [{"name": "cnn"}, {"name": "cnn"}]), "models: labels must be unique"),
    ("S34", "suite", suite(("simulations", 0, "preset"), "spi1_single"),
     "simulations[0]: give exactly one of preset or spec"),
    ("S35", "suite", suite(("name",), _DELETE), "name: Field required"),
    ("S36", "suite", suite(("name",), 123), "name: Input should be a valid string"),
    ("S37", "suite", suite(("interpret",), {"split": "training"}),
     "interpret.split: Input should be 'train', 'valid' or 'test'"),
    ("S38", "suite", suite(("interpret",), {"classes": ["postive"]}),
     "interpret.classes: 'postive' is not a class of simulation 'tiny'"),
    ("S38b", "suite", suite(("interpret",), {"classes": ["postive"]}), "Did you mean 'positive'?"),
    ("S38c", "suite", suite(("interpret",), {"classes": []}), "interpret.classes: the list is empty"),
    ("S38d", "suite", suite(("interpret",), {"classes": "al"}),
     "interpret.classes: Input should be 'auto' or 'all', or a valid list"),
    ("S39", "suite", suite(("interpret",), {"n_sequences": 0}),
     "interpret.n_sequences: Input should be greater than 0"),
    ("S40", "suite", suite(("executor",), {"kind": "dask"}),
     "executor.kind: Input should be 'local', 'ray' or 'serial'"),
    ("S41", "suite", suite(("executor",), {"workers": 0}), "executor.workers: Input should be greater than 0"),
    ("S41b", "suite", suite(("executor",), {"workers": -2}), "executor.workers: Input should be greater than 0"),
    ("S41c", "suite", suite(("executor",), {"workers": True}), "executor.workers: Input should be a number, not true"),
    ("P08", "suite", suite(("models", 0, "params"), [1, 2]), "models[0].params: Input should be a valid dictionary"),
    ("V01", "suite", suite_spec(("motifs", "M"), {"matrix": [[1, 0], [0, 1, 0], [0, 0], [0, 0]]}),
     "simulations[0]: motifs.M: motif 'M': matrix rows have different lengths [2, 3, 2, 2]"),
    ("V06", "suite", suite_spec(("classes", 0, "label"), 3), "classes[0] ('positive') has label 3.0"),
    ("V07", "suite", suite(("simulations", 0, "spec"), _edit(_edit(SPEC, ("classes", 0, "label"), [1, 0]),
                                                             ("classes", 1, "label"), [0, 0])),
     "simulations[0]: classes[0] ('positive') has label [1.0, 0.0]; the benchmark's models are single-task"),
    ("V08", "suite", suite_spec(("motifs", "M"), {"matrix": [[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1],
                                                             [0.1, 0.1, 0.1, 0.7], [0.2, 0.2, 0.5, 0.1]]}),
     "simulations[0]: motifs.M: motif 'M': this 4 x 4 matrix looks written positions-first"),
    ("V09", "suite", suite_spec(("classes", 0, "configs", 0, "motifs", 0, "functional"), "no"),
     "classes[0].configs[0].motifs[0].functional: Input should be a valid boolean, got 'no'"),
    # ---- suites: training settings (models[i].train)
    ("T01", "suite", train(epochs=0), "models[0].train: TrainConfig.epochs must be a positive int, got 0"),
    ("T02", "suite", train(lr=-1), "models[0].train: TrainConfig.lr must be > 0, got -1"),
    ("T03", "suite", train(batch_size=3), "TrainConfig.batch_size must be even with rc_augment"),
    ("T04", "suite", train(clip="abc"), "models[0].train: TrainConfig.clip must be a number >= 0"),
    ("T05", "suite", train(min_delta="abc"), "models[0].train: TrainConfig.min_delta must be a number >= 0"),
    ("T06", "suite", train(rc_augment="no"), "models[0].train: TrainConfig.rc_augment must be true or false, got 'no'"),
    ("T06b", "suite", train(rc_augment=0), "TrainConfig.rc_augment must be true or false, got 0"),
    ("T07", "suite", train(device="tpu"), "TrainConfig.device must be 'auto', 'cpu' or 'cuda', got 'tpu'"),
    ("T08", "suite", train(patience=0), "TrainConfig.patience must be a positive int or None, got 0"),
    ("T08b", "suite", train(patience=True), "TrainConfig.patience must be a positive int or None, got True"),
    ("T10", "suite", train(select_from_epoch=-3), "TrainConfig.select_from_epoch must be a non-negative int"),
    ("T11", "suite", train(overlap_weight={"burn_in": -1}),
     "TrainConfig.overlap_weight: a schedule dict needs exactly"),
    ("T11b", "suite", train(overlap_weight={"burn_in": "x", "start_exp": 0, "end_exp": 1, "steps": 2, "hold": 1}),
     "TrainConfig.overlap_weight.burn_in must be an integer number of epochs, got 'x'"),
    ("T11c", "suite", train(l1_weight=["a"]), "TrainConfig.l1_weight must be a number, a non-empty list"),
    ("T11d", "suite", train(att_entropy_weight=True), "TrainConfig.att_entropy_weight must be a number"),
    ("T12", "suite", train(lr="fast"), "TrainConfig.lr must be > 0, got 'fast'"),
    ("T12b", "suite", train(lr=float("inf")), "TrainConfig.lr must be > 0, got inf"),
    ("T13", "suite", train(progress="maybe"), "TrainConfig.progress must be true or false, got 'maybe'"),
    ("S05", "suite", train(epoch=2), "models[0].train: unknown TrainConfig key(s) ['epoch']"),
    ("T14", "train", {"rc_augment": "false"}, "TrainConfig.rc_augment must be true or false, got 'false'"),
    # ---- suites: model parameters
    ("S04", "suite", suite(("models", 0, "params"), {"conv_filter": [8]}),
     "models[0].params: cnn: unknown parameter(s) ['conv_filter']"),
    ("S28", "suite", suite(("models", 0, "grid"), {"params.num_filterz": [8, 16]}),
     "models[0].params: cnn: unknown parameter(s) ['num_filterz']"),
    ("P01", "model", ("cnn", {"pool_size": "40"}), "cnn: parameter 'pool_size' must be a positive int, got '40'"),
    ("P02", "model", ("cnn", {"pool_size": 0}), "cnn: parameter 'pool_size' must be a positive int, got 0"),
    ("P04", "model", ("cnn", {"conv_widths": [5, 5], "conv_filters": [8, 8, 8]}),
     "cnn: conv_widths and conv_filters must have equal length"),
    ("P05", "model", ("explainn", {"dropout": 1.5}), "explainn: parameter 'dropout' must be a number in [0, 1)"),
    ("P06", "model", ("argminn", {"num_heads": 3}), "argminn: hidden_dim (32) must be divisible by num_heads (3)"),
    ("P09", "model", ("cnn", {"batch_norm": "no"}), "cnn: parameter 'batch_norm' must be a bool, got 'no'"),
    # ---- suites: method parameters
    ("S06", "suite", method("deeplift_shap", n_reference=2),
     "methods[0].params: method 'deeplift_shap': unknown parameter(s) ['n_reference']"),
    ("S26", "suite", method("deeplift_shap", n_references="two"),
     "methods[0].params: n_references must be a positive integer, got 'two'"),
    ("S27", "suite", method("deeplift_shap", n_references=0),
     "methods[0].params: n_references must be a positive integer, got 0"),
    ("M01", "suite", method("modisco", window=-5), "methods[0].params: window must be a positive integer or null"),
    ("M01b", "method", ("modisco", {"window": 10}),
     "window must be null (the whole sequence) or at least sliding_window_size + 2 x flank_size = 30"),
    ("M01c", "method", ("modisco", {"window": [1, 2]}), "window must be a positive integer or null"),
    ("M02", "method", ("modisco", {"n_threads": 0}), "n_threads must be a positive integer, got 0"),
    ("M03", "suite", method("modisco", target_seqlet_fdr=7),
     "methods[0].params: target_seqlet_fdr must be a number in (0, 1), got 7"),
    ("M03b", "method", ("modisco", {"target_seqlet_fdr": True}),
     "target_seqlet_fdr must be a number in (0, 1), got True"),
    ("M04", "method", ("modisco", {"workdir": 5}), "workdir must be a non-empty string (a path) or null"),
    ("M05", "method", ("filter_readout", {"quality": "bogus"}),
     "quality must be one of [None, 'uniform', 'argminn', 'modisco'], got 'bogus'"),
    ("M05b", "method", ("filter_readout", {"background_fpr": 2}), "background_fpr must be a number in (0, 1) or null"),
    ("M06", "method", ("positive_control", {"scan_threshold": -1}),
     "scan_threshold.pvalue must be a p-value in (0, 1]"),
    ("M06b", "method", ("positive_control", {"merge": "yes"}), "merge must be true or false, got 'yes'"),
    ("M06c", "method", ("positive_control", {"fimo_threshold": 1e-4}), "unknown parameter(s) ['fimo_threshold']"),
    ("M07", "suite", method("negative_control", widths=[12]),
     "methods[0].params.widths: negative_control takes one random motif per planted motif"),
    ("M07b", "method", ("negative_control", {"widths": [0]}),
     "widths must be a non-empty list of integers >= 1, got [0]"),
    ("M07c", "method", ("negative_control", {"attributions": "bogus"}), "attributions must be one of"),
    ("M08", "suite", method("argminn_readout", foo=1),
     "methods[0].params: method 'argminn_readout': unknown parameter(s) ['foo']"),
    ("M09", "method", ("integrated_gradients", {"gradient_correction": "no"}),
     "gradient_correction must be true or false, got 'no'"),
    ("M10", "method", ("captum_deeplift_shap", {"compare_exact": 1}), "compare_exact must be true or false, got 1"),
    ("M11", "method", ("modisco", {"attribution": "saliency"}), "attribution must be one of"),
    ("M12", "method", ("modisco", {"trim_threshold": 5}), "trim_threshold must be a number in [0, 2], got 5"),
    ("M13", "method", ("modisco", {"max_seqlets": 0}), "max_seqlets must be a positive integer, got 0"),
    ("M14", "method", ("ism", {"batch_size": 1.5}), "batch_size must be a positive integer, got 1.5"),
    ("M15", "method", ("modisco", {"patterns": "qc"}), "patterns must be one of ['passing', 'all'], got 'qc'"),
    # ---- suite files
    ("F01", "suite_file", write("s.yaml", "name: !!python/object/apply:os.system ['echo pwned']\n"),
     "is not valid YAML: could not determine a constructor"),
    ("F04", "suite_file", write("s.yaml", b"name: t\n\xff\xfe: x\n"), "is not UTF-8 text (byte 0xff at position 8)"),
    ("F05", "suite_file", write("s.yaml", "name: t\ndescription: caf\xe9\n".encode("latin-1")), "is not UTF-8 text"),
    ("F06", "suite_file", write("s.yaml", ""), "must hold a mapping (name, simulations, models, ...)"),
    ("F07", "suite_file", write("s.yaml", "name: {unclosed\nseeds: [0]\n"), "is not valid YAML"),
    ("F08", "suite_file", write("s.yaml", "# only a comment\n"), "must hold a mapping"),
    ("F09", "suite_file", write("s.yaml", "name: t\nseeds: [0]\nseeds: [1]\n"),
     "key 'seeds' appears twice in one mapping (lines 2 and 3)"),
    ("F10", "suite_file", folder("s.yaml"), "cannot read suite file"),
    ("F10b", "suite_file", folder("s.yaml"), "it is a folder, not a file"),
    ("F11", "suite_file", lambda tmp: tmp / "nope.yaml", "does not exist"),
    ("S42", "suite_file", write("s.yaml", "- a list\n"), "must hold a mapping"),
    ("X04", "suite_file", fifo("s.yaml"), "it is not a regular file (a pipe, socket or device)"),
    ("X05", "suite_file", lambda tmp: Path("/dev/zero"), "'/dev/zero': it is not a regular file"),
    ("X09", "suite_file", write("s.yaml", b"#" * (10 * 1024 * 1024 + 1)), "more than the limit of 10485760"),
    ("B06", "suite_file", write("s.yaml", BOMB_SUITE), "an alias bomb?"),
    ("B07", "suite_file", write("s.yaml", "name: &n [1, *n]\n"), "a recursive alias at line 1"),
    ("B08", "suite_file", write("s.yaml", "name: " + "[" * 3000 + "]" * 3000 + "\n"), "is not valid YAML"),
    ("V02", "suite_file", beside({}, "s.yaml", inline_file_suite("m.meme")), "does not exist"),
    ("V03", "suite_file", beside({"g.yaml": b"name: g\n\xff\n"}, "s.yaml", SUITE_YAML),
     "simulations[0].spec: cannot read spec file"),
    ("V04", "suite_file", beside({"g.yaml": None}, "s.yaml", SUITE_YAML), "simulations[0].spec: cannot read spec file"),
    ("V05", "suite_file", beside({}, "s.yaml", SUITE_YAML), "simulations[0].spec: spec file"),
    ("V10", "suite_file", beside({"g.yaml": SPEC_YAML, "m.meme": meme(ROWS[:3], w=6)}, "s.yaml", SUITE_YAML),
     "motif 'M1' declares w= 6 but holds 3 rows"),
    ("V11", "suite_file", beside({"g.yaml": "name: g\nname: h\n"}, "s.yaml", SUITE_YAML),
     "simulations[0].spec: spec file"),
    # ---- grammar specs
    ("G01", "spec", spec(("motifs", "A"), "GATTA1"), "motifs.A: unknown motif 'GATTA1'"),
    ("G03", "spec", spec(CHAIN + (1, "motif"), "GATA"), "classes[0].configs[0].motifs[1].motif: unknown motif 'GATA'"),
    ("G03b", "spec", spec(CHAIN + (1, "motif"), "AA"), "Did you mean 'A'?"),
    ("G04", "spec", spec(CHAIN + (1, "gap"), 500), "its motifs and largest gaps need 512 bp but length is 100"),
    ("G06", "spec", spec(CHAIN + (1, "gap"), {"min": 10, "max": 2}),
     "classes[0].configs[0].motifs[1].gap: max (2) must be >= min (10)"),
    ("G07", "spec", spec(CHAIN + (1, "gap"), -3),
     "classes[0].configs[0].motifs[1].gap: Input should be greater than or equal to 0, got -3"),
    ("G07b", "spec", spec(CHAIN + (1, "gap"), True), "motifs[1].gap: expected an integer >= 0, {min, max}"),
    ("G07c", "spec", spec(CHAIN + (1, "gap"), {"low": 2}), "motifs[1].gap: expected an integer >= 0, {min, max}"),
    ("G08", "spec", spec(("classes", 0, "configs", 0, "weight"), -1),
     "classes[0].configs[0].weight: Input should be greater than or equal to 0"),
    ("G09", "spec", spec(CHAIN + (1, "gap"), {"values": [3, 5], "weights": [-1, 2]}),
     "motifs[1].gap: weights must be finite and non-negative"),
    ("G10", "spec", spec(CHAIN + (1, "gap"), {"values": [3, 5], "weights": [1]}),
     "motifs[1].gap: weights has 1 entries but values has 2"),
    ("G11", "spec", spec(("classes", 1, "configs", 0, "weight"), 0),
     "classes[1].configs: weights must not all be zero"),
    ("G12", "spec", spec(("background",), {"gc": 1.5}), "background.gc: GC content must be within [0, 1], got 1.5"),
    ("G14", "spec", spec(("reject_matches",), {"pvalue": 1e-4}) | {"background": {"gc": 1.0}},
     "reject_matches.pvalue needs every base in the background, but background gc 1.0 gives A, T probability 0"),
    ("G15", "spec", spec(("reject_matches",), {"pvalue": 1e-4}) | {"background": {"freqs": [0.3, 0.3, 0.4, 0]}},
     "gives T probability 0"),
    ("G16", "spec", spec(("length",), 12), "its motifs and largest gaps need 22 bp but length is 12"),
    ("G18", "spec", spec(("motifs", "A"), {"matrix": [[1, -0.2], [0, 1], [0, 0], [0, 0.2]]}),
     "motifs.A: motif 'A': pfm must be finite and non-negative"),
    ("G19", "spec", spec(("motifs", "A"), {"matrix": [[1, 0], [0, 1, 0], [0, 0], [0, 0]]}),
     "motifs.A: motif 'A': matrix rows have different lengths"),
    ("G20", "spec", spec(("motifs", "A"), {"matrix": [[1, 0, 0, 0]] * 6}), "matrix must have shape (4, W)"),
    ("G20b", "spec", spec(("motifs", "A"), {"matrix": [[1, 0, 0, 0]] * 6}), "(written positions-first? transpose it)"),
    ("G21", "spec", spec(("motifs", "A"), {"matrix": [[1, 0], [0, 0], [0, 0], [0, 0]]}),
     "motifs.A: motif 'A': a column has no counts"),
    ("G22", "spec", spec(("motifs", "A"), {"matrix": [[1, 0, 0]] * 3}), "matrix must have shape (4, W)"),
    ("G23", "spec", spec(("motifs", "A"), {"matrix": [[float("nan"), 1], [0, 0], [0, 0], [1, 0]]}),
     "pfm must be finite and non-negative"),
    ("G24", "spec", spec(("motifs", "A"), {"consensus": "AGATAR"}),
     "motifs.A: motif 'A': consensus must use A, C, G, T, N"),
    ("G25", "spec", spec(("motifs", "A"), {"consensus": "GATAAG", "columns": [3, 100]}),
     "motifs.A: motif 'A': columns [3, 100) are outside its width 6"),
    ("G26", "spec", spec(("classes", 1, "fraction"), 0), "classes[1].fraction: Input should be greater than 0"),
    ("G27", "spec", spec(("splits",), {"valid": 0.6, "test": 0.5}), "splits: valid + test must be below 1"),
    ("G28", "spec", spec(("length",), 0), "length: Input should be greater than 0"),
    ("G28b", "spec", spec(("length",), True), "length: Input should be a number, not true"),
    ("G29", "spec", spec(("background",), {"freqs": [0.5] * 4}), "background: freqs must be 4 non-negative numbers"),
    ("G30", "spec", spec(("reject_matches",), {"pvalue": 2}), "reject_matches.pvalue: Input should be less than 1"),
    ("G30b", "spec", spec(("reject_matches",), True), "reject_matches: expected {pvalue: p}, {mean_prob: q} or false"),
    ("G32", "spec", spec(("classes", 0, "configs", 0, "position"), {"mode": "fixed", "start": 95}),
     "position.start: a chain of up to 22 bp starting at 95 does not fit in length 100"),
    ("G33", "spec", spec(("classes", 0, "configs", 0, "motfis"), []), "classes[0].configs[0].motfis: unknown key"),
    ("G34", "spec", spec(("lenght",), 200), "lenght: unknown key (not part of the simulation spec)"),
    ("G36", "spec", spec(CHAIN + (0, "orientation"), "both"),
     "motifs[0].orientation: Input should be '+', '-' or 'random'"),
    ("G37", "spec", spec(("classes",), []), "classes: List should have at least 1 item"),
    ("G38", "spec", spec(("classes", 1, "name"), "positive"), "class names must be unique"),
    ("G46", "spec", spec(("motifs", "A"), {"jaspar": "GATA1", "consensus": "GATA"}),
     "motifs.A: a motif needs exactly one of jaspar, file, consensus, matrix; got ['jaspar', 'consensus']"),
    ("G50", "spec", spec(("motifs", "A"), {"consensus": "GATAAG", "reverse_complement": 1}),
     "motifs.A.reverse_complement: Input should be a valid boolean, got 1"),
    ("G51", "spec", spec(("classes", 0, "label"), True), "classes[0].label: expected a number (0 or 1)"),
    ("G52", "spec", spec(("decoys",), [{"motif": "A", "count": -1}]),
     "decoys[0].count: Input should be greater than or equal to 0"),
    ("G53", "spec", spec(("motifs", "A"), 5), "motifs.A: expected a JASPAR name or matrix id"),
    # ---- spec files
    ("GF1", "spec_file", write("g.yaml", b"name: g\n\xff\n"), "cannot read spec file"),
    ("GF2", "spec_file", folder("g.yaml"), "it is a folder, not a file"),
    ("GF3", "spec_file", fifo("g.yaml"), "it is not a regular file"),
    ("GF4", "spec_file", write("g.yaml", alias_bomb()), "an alias bomb?"),
    ("GF5", "spec_file", write("g.yaml", "name: g\nlength: 10\nlength: 20\n"), "key 'length' appears twice"),
    ("GF6", "spec_file", write("g.yaml", "name: [unclosed\n"), "spec file"),
    # ---- motif files
    ("G39", "motif_file", write("m.meme", meme(ROWS[:2] + ["0.5 0.5"], w=6)),
     "m.meme: line 14: expected 4 probabilities, got 2"),
    ("G40", "motif_file", write("m.meme", meme(ROWS[:3], w=6)), "motif 'M1' declares w= 6 but holds 3 rows"),
    ("G40b", "motif_file", write("m.meme", meme(ROWS[:5], w=3)), "motif 'M1' declares w= 3 but holds more rows"),
    ("G41", "motif_file", write("m.meme", MEME_HEAD + "MOTIF M1\n"), "motif 'M1' has no letter-probability matrix"),
    ("G43", "motif_file", lambda tmp: tmp / "nope.meme", "motif file"),
    ("G44", "motif_file", write("m.meme", meme(ROWS[:3]).encode() + b"\xff"), "cannot read motif file"),
    ("G45", "motif_file", folder("mdir"), "cannot read motif file"),
    ("G45b", "motif_file", fifo("m.meme"), "it is not a regular file"),
    ("G48", "motif_file", write("m.jaspar", ">MA1 X\nA [1 2]\nC [1 2 3]\nG [1 2]\nT [1 2]\n"),
     "motif 'MA1': rows have different lengths [2, 3]"),
    ("G49", "motif_file", write("m.jaspar", ">MA1 X\nA [1 2]\nC [1 x]\nG [1 2]\nT [1 2]\n"),
     "motif 'MA1': row C holds something that is not a number"),
    ("G54", "motif_file", write("m.jaspar", ">MA1 X\nA [1 2]\nC [1 2]\nG [1 2]\n"), "needs rows A, C, G and T"),
    ("G55", "motif_file", write("m.txt", "hello\n"), "is neither MEME nor JASPAR format"),
    ("G56", "motif_file", write("m.meme", "MEME version 4\n"), "holds no MEME motifs"),
]


def _check(kind, payload, tmp_path):
    """Run one row's input through its entry point; returns the exception class it must raise."""
    if kind == "suite":
        load_suite(payload)
    elif kind == "suite_file":
        load_suite(payload(tmp_path))
    elif kind == "spec":
        parse_spec(payload)
    elif kind == "spec_file":
        parse_spec(str(payload(tmp_path)))
    elif kind == "motif_file":
        read_motif_file(payload(tmp_path))
    elif kind == "method":
        from bench.methods import METHODS

        name, params = payload
        METHODS[name].check_params(params)
    elif kind == "model":
        import models

        models.check_model_params(*payload)
    elif kind == "train":
        import models

        models.TrainConfig.from_dict(payload)
    else:
        raise AssertionError(kind)


#: what each entry point raises, so that the command line shows it as one line (bench/__main__.py
#: catches SuiteError for suites, SpecError/ValueError for specs)
EXPECTED = {"suite": SuiteError, "suite_file": SuiteError, "spec": SpecError, "spec_file": SpecError,
            "motif_file": MotifError, "method": ValueError, "model": ValueError, "train": ValueError}


def test_table_is_large_and_ids_unique():
    ids = [r[0] for r in ROWS_TABLE]
    assert len(ids) >= 60 and len(set(ids)) == len(ids), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("row_id,kind,payload,fragment", ROWS_TABLE, ids=[r[0] for r in ROWS_TABLE])
def test_bad_input_is_one_clear_line(row_id, kind, payload, fragment, tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(EXPECTED[kind]) as info:
        _check(kind, payload, tmp_path)
    message = str(info.value)
    assert fragment in message, message
    assert "\n" not in message, message
    assert time.perf_counter() - t0 < 10, "refusing a bad input must be quick (no alias expansion, no reading forever)"


# --------------------------------------------------------------------------- what must still work


def test_good_inputs_next_to_the_bad_ones_pass(tmp_path):
    load_suite(SUITE)
    load_suite(suite(("interpret",), {"classes": ["positive"]}))
    load_suite(suite(("interpret",), {"classes": "all"}))
    load_suite(train(rc_augment=False, batch_size=3, clip=None, select_from_epoch=0, progress=False, schedule="paper"))
    load_suite(method("modisco", window=200, target_seqlet_fdr=0.1, workdir=str(tmp_path)))
    # a small use of anchors and aliases is fine
    p = tmp_path / "s.yaml"
    p.write_text("name: t\nsimulations: [{preset: spi1_single, n: 100}]\n"
                 "models: [{name: cnn, train: &tr {epochs: 1}}, {name: cnn, label: c2, train: *tr}]\n")
    assert [m.train for m in load_suite(p).models] == [{"epochs": 1}, {"epochs": 1}]
    # a 4 x 4 matrix written as documented (rows A, C, G, T; columns sum alike) is read as given
    ok = spec(("motifs", "A"), {"matrix": [[7, 1, 1, 2], [1, 7, 1, 2], [1, 1, 1, 5], [1, 1, 7, 1]]})
    assert parse_spec(ok).motifs["A"].consensus() == "ACTG"
    # a MEME file whose w= matches its rows
    (tmp_path / "m.meme").write_text(meme(ROWS[:3]))
    assert read_motif_file(tmp_path / "m.meme")["M1"].width == 3


def test_relative_motif_file_of_an_inline_spec_is_beside_the_suite(tmp_path, monkeypatch):
    d = tmp_path / "suites"
    d.mkdir()
    (d / "m.meme").write_text(meme(ROWS[:6]))
    (d / "s.yaml").write_text(inline_file_suite("m.meme"))
    monkeypatch.chdir(tmp_path)  # not the suite's folder: the file must still be found beside the suite
    suite_ = load_suite(d / "s.yaml")
    # the canonical spec names the file absolutely, so simulating it later from anywhere reads the same file
    src = suite_.simulations[0].spec["motifs"]["M"]["file"]
    assert Path(src).is_absolute() and Path(src) == (d / "m.meme").resolve()
    assert parse_spec(suite_.simulations[0].spec).motifs["M"].width == 6
    # a `spec:` file's motif file resolves beside the spec file, and is recorded absolutely too
    (d / "g.yaml").write_text(SPEC_YAML)
    (d / "s2.yaml").write_text(SUITE_YAML)
    monkeypatch.chdir("/")
    assert Path(load_suite(d / "s2.yaml").simulations[0].spec["motifs"]["M"]["file"]).is_absolute()


def test_alias_bomb_is_refused_fast(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(BOMB_SUITE)
    assert len(BOMB_SUITE) < 1000
    t0 = time.perf_counter()
    with pytest.raises(SuiteError, match="alias bomb"):
        load_suite(p)
    assert time.perf_counter() - t0 < 2


def test_selection_labels_with_commas(tmp_path):
    s = suite(("models", 0, "zip"), {"train.epochs": [1, 2], "train.batch_size": [16, 32]})
    s["models"].append({"name": "cnn", "label": "arg,minn"})
    labels = [m.label for m in load_suite(s).models]
    assert labels == ["cnn[epochs=1,batch_size=16]", "cnn[epochs=2,batch_size=32]", "arg,minn"]
    # the string the CLI receives: a comma inside a grid label's brackets, or inside a label, does not split
    assert split_labels("cnn[epochs=1,batch_size=16], arg,minn", labels) == ["cnn[epochs=1,batch_size=16]", "arg,minn"]
    picked = load_suite(s).select(models="cnn[epochs=2,batch_size=32],arg,minn")
    assert [m.label for m in picked.models] == ["cnn[epochs=2,batch_size=32]", "arg,minn"]
    with pytest.raises(SuiteError, match=r"--models: no labels given"):
        load_suite(s).select(models=[])
    with pytest.raises(SuiteError, match=r"--models: no labels given"):
        load_suite(s).select(models=",")
    with pytest.raises(SuiteError, match=r"'cnn\[epochs=3,batch_size=16\]' not in suite 't'.*Did you mean"):
        load_suite(s).select(models="cnn[epochs=3,batch_size=16]")
    # a label with an unbalanced bracket is still found whole
    assert split_labels("a[b, arg,minn", ["a[b", "arg,minn"]) == ["a[b", "arg,minn"]
