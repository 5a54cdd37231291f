"""Blind naming against every JASPAR 2026 CORE vertebrate motif (pyjaspar, offline; memelite Tomtom)."""

import numpy as np
import pytest

from bench.metrics import jaspar_library, name_motifs, naming_scores, planted_jaspar_ids
from simulations import Motif, jaspar_motif


def test_library_is_the_whole_core_vertebrate_release_cached():
    lib = jaspar_library()
    assert len(lib) == 1019  # JASPAR 2026 CORE vertebrates, latest versions
    assert jaspar_library() is lib  # read once per process
    ids = [e.matrix_id for e in lib]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    sp1 = next(e for e in lib if e.matrix_id == "MA0079.5")
    assert sp1.name == "SP1" and sp1.base_id == "MA0079" and sp1.families == ("Three-zinc finger Kruppel-related",)
    assert np.allclose(sp1.pfm.sum(axis=0), 1.0)


def test_a_planted_jaspar_motif_names_itself_on_either_strand():
    spi1 = jaspar_motif("MA0080.7")
    found = [spi1.renamed("pattern_0"), spi1.reverse_complement().renamed("pattern_1")]
    names = name_motifs(found)
    assert names["named"].all() and names["matrix_id"].tolist() == ["MA0080.7", "MA0080.7"]
    assert (names["q_value"] < 1e-10).all()
    r = naming_scores(found, ["MA0080.7"])
    for level in ("matrix", "tf", "family"):
        assert r[f"naming_recall_{level}"] == 1.0 and r[f"naming_precision_{level}"] == 1.0
    assert r["n_named"] == 2 and r["n_planted"] == 1 and r["n_planted_named_tf"] == 1


def test_random_motif_is_not_named_and_a_relative_is_right_only_at_family_level():
    rng = np.random.default_rng(0)
    random = Motif("random_0", rng.dirichlet(np.full(4, 0.15), size=10).T)
    names = name_motifs([random])
    assert names["passes_quality"].iloc[0] and not names["named"].iloc[0]  # compared, nothing significant
    r = naming_scores([random], ["MA0079.5"])
    assert r["naming_recall_tf"] == 0.0 and np.isnan(r["naming_precision_tf"]) and r["n_named"] == 0
    # KLF4 is another factor of SP1's family: a user would name its family right, not the factor
    klf4 = jaspar_motif("KLF4").renamed("filter_2")
    r = naming_scores([klf4, random], ["MA0079.5"])
    assert r["naming_recall_matrix"] == 0.0 and r["naming_recall_tf"] == 0.0 and r["naming_recall_family"] == 1.0
    assert r["naming_precision_family"] == 1.0 and r["n_named"] == 1


def test_quality_rule_and_inputs():
    flat = Motif("flat", np.full((4, 8), 0.25))
    names = name_motifs([flat])
    assert not names["passes_quality"].iloc[0] and not names["named"].iloc[0]
    assert np.isnan(naming_scores([], ["MA0079.5"])["naming_precision_matrix"])
    assert np.isnan(naming_scores([flat], [None])["naming_recall_tf"])  # no planted JASPAR motif
    with pytest.raises(ValueError, match="q_threshold"):
        name_motifs([flat], q_threshold=0)
    with pytest.raises(ValueError, match="Motif"):
        name_motifs([np.ones((4, 3))])


def test_planted_ids_from_a_spec():
    spec = {"motifs": {"A": {"jaspar": "MA0080.7"}, "B": "MA0079.5", "C": {"consensus": "ACGTAC"},
                       "D": {"jaspar": "GATA1"}}}
    ids = planted_jaspar_ids(spec, ["A", "B", "C", "D"])
    assert ids == {"A": "MA0080.7", "B": "MA0079.5", "C": None, "D": jaspar_motif("GATA1").source["jaspar"]}
