"""Every malformed spec fails before simulating, with a message naming the field."""


import pytest

from simulations import SpecError, parse_spec, simulate
from tests.specs import DELETE, edited

BASE = {
    "name": "t",
    "length": 100,
    "motifs": {"A": {"consensus": "GATAAG"}, "B": {"consensus": "CACGTG"}},
    "classes": [
        {"name": "positive", "label": 1, "fraction": 0.5,
         "configs": [{"name": "ab", "motifs": [{"motif": "A"}, {"motif": "B", "gap": 5}]}]},
        {"name": "negative", "label": 0, "fraction": 0.5, "configs": [{"name": "bg"}]},
    ],
}


def _with(path, value):
    return edited(BASE, path, value)


_DELETE = DELETE
POS_CHAIN = ("classes", 0, "configs", 0, "motifs")

BAD_SPECS = [
    (_with(POS_CHAIN + (0, "motif"), "Z"), r"classes\[0\]\.configs\[0\]\.motifs\[0\]\.motif: unknown motif 'Z'"),
    (_with(("motifs", "A"), "NOT_A_TF_XYZ"), r"motifs\.A: unknown motif 'NOT_A_TF_XYZ'"),
    (_with(("colour",), "red"), r"colour: unknown key"),
    (_with(POS_CHAIN + (1, "spacing"), 3), r"motifs\[1\]\.spacing: unknown key"),
    (_with(POS_CHAIN + (1, "gap"), -2), r"motifs\[1\]\.gap: .*greater than or equal to 0"),
    (_with(POS_CHAIN + (1, "gap"), {"min": 9, "max": 3}), r"max \(3\) must be >= min \(9\)"),
    (_with(POS_CHAIN + (1, "gap"), 95), r"need 107 bp but length is 100"),
    (_with(("classes", 0, "configs", 0, "weight"), -1), r"configs\[0\]\.weight: .*greater than or equal to 0"),
    (_with(("classes", 1, "configs", 0, "weight"), 0), r"weights must not all be zero"),
    (_with(("background",), {"gc": 1.5}), r"background\.gc: .*GC content must be within \[0, 1\]"),
    (_with(("background",), {"freqs": [0.5, 0.5, 0.5, 0.5]}), r"freqs must be 4 non-negative numbers"),
    (_with(("motifs", "A"), {"file": "/nonexistent/m.meme"}), r"motifs\.A: motif file .* does not exist"),
    (_with(("motifs", "A"), {"consensus": "GAXX"}), r"motifs\.A: .*consensus must use"),
    (_with(("classes",), []), r"classes: .*at least 1"),
    (_with(("classes", 0, "fraction"), 0), r"classes\[0\]\.fraction: .*greater than 0"),
    (_with(POS_CHAIN + (0, "orientation"), "forward"), r"orientation: .*'\+', '-' or 'random'"),
    (_with(("classes", 0, "configs", 0, "position"), {"mode": "fixed", "start": 90}), r"does not fit in length 100"),
    (_with(("decoys",), [{"motif": "A", "count": 40}]), r"cannot be placed"),
    (_with(("reject_matches",), {"pvalue": 2}), r"reject_matches.*pvalue: .*less than 1"),
    (_with(("length",), 0), r"length: .*greater than 0"),
]


@pytest.mark.parametrize("spec,message", BAD_SPECS, ids=[m[:40] for _, m in BAD_SPECS])
def test_bad_spec_is_a_clear_error(spec, message):
    with pytest.raises(SpecError, match=message):
        simulate(spec, n=10, seed=0)


def test_bad_file_and_bad_n(tmp_path):
    p = tmp_path / "spec.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        parse_spec(str(p))
    with pytest.raises(ValueError, match="positive integer"):
        simulate(BASE, n=0, seed=0)
    with pytest.raises(ValueError, match="unknown simulation preset 'spi1_singel'.*spi1_single"):
        parse_spec("spi1_singel")


def test_valid_spec_round_trips_to_plain_data():
    resolved = parse_spec(BASE)
    again = parse_spec(resolved.to_dict())
    assert again.to_dict() == resolved.to_dict()
