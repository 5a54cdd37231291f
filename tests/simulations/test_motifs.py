import numpy as np
import pytest

from simulations import (
    Motif,
    MotifError,
    from_consensus,
    information_content,
    jaspar_motif,
    read_jaspar,
    read_meme,
    read_motif_file,
    write_meme,
)


def test_motif_validates_shape_and_columns():
    with pytest.raises(MotifError, match=r"shape \(4, W\)"):
        Motif("bad", np.ones((3, 5)) / 3)
    with pytest.raises(MotifError, match="sum to 1"):
        Motif("bad", np.ones((4, 2)))
    m = Motif("ok", np.full((4, 3), 0.25))
    assert m.width == 3


def test_reverse_complement_flips_both_axes():
    m = from_consensus("m", "AACG", strength=1.0)
    assert m.reverse_complement().consensus() == "CGTT"
    np.testing.assert_allclose(m.reverse_complement().reverse_complement().pfm, m.pfm)


def test_information_content_known_values():
    onehot = from_consensus("m", "AC", strength=1.0).pfm
    # pseudocount 1e-3: p = 1.001/1.004 for the base, 0.001/1.004 for the others
    hi, lo = 1.001 / 1.004, 0.001 / 1.004
    expected = hi * np.log2(4 * hi) + 3 * lo * np.log2(4 * lo)
    np.testing.assert_allclose(information_content(onehot), [expected, expected], rtol=1e-9)
    assert 1.96 < expected < 1.97
    np.testing.assert_allclose(information_content(np.full((4, 1), 0.25)), [0.0], atol=1e-9)


def test_sliced_and_errors():
    m = from_consensus("m", "ACGTAC")
    assert m.sliced(1, 4).consensus() == "CGT"
    with pytest.raises(MotifError, match="outside its width"):
        m.sliced(3, 9)


def test_meme_round_trip(tmp_path):
    motifs = [from_consensus("A1", "GATAAG"), from_consensus("B2", "CACGTG", 0.8)]
    path = write_meme(tmp_path / "m.meme", motifs)
    back = read_meme(path)
    assert list(back) == ["A1", "B2"]
    np.testing.assert_allclose(back["B2"].pfm, motifs[1].pfm, atol=1e-6)
    assert read_motif_file(path).keys() == back.keys()


def test_jaspar_file(tmp_path):
    p = tmp_path / "m.jaspar"
    p.write_text(">MA0001.1 TEST\nA [ 10 0 0 ]\nC [ 0 10 0 ]\nG [ 0 0 5 ]\nT [ 0 0 5 ]\n")
    m = read_jaspar(p)["MA0001.1"]
    assert m.consensus()[:2] == "AC"
    np.testing.assert_allclose(m.pfm[:, 2], [0, 0, 0.5, 0.5])
    assert m.source["alt_name"] == "TEST"


def test_unreadable_files(tmp_path):
    with pytest.raises(MotifError, match="does not exist"):
        read_motif_file(tmp_path / "missing.meme")
    p = tmp_path / "junk.txt"
    p.write_text("hello\n")
    with pytest.raises(MotifError, match="neither MEME nor JASPAR"):
        read_motif_file(p)


def test_jaspar_by_name_and_id_offline():
    spi1 = jaspar_motif("SPI1")
    assert spi1.source["jaspar"].startswith("MA0080")
    assert spi1.width == 13
    by_id = jaspar_motif("MA0080")
    np.testing.assert_allclose(by_id.pfm, spi1.pfm)
    assert jaspar_motif("GATA1::TAL1").width == 17


def test_jaspar_versioned_id_needs_no_index():
    """A versioned matrix id is fetched directly: a new process (a worker, a report helper) need not
    build the index of every JASPAR motif for it. The result equals the lookup through the name."""
    from simulations.motifs import _jaspar_index

    _jaspar_index.cache_clear()
    e2f6 = jaspar_motif("MA0471.3", name="E2F6")
    assert _jaspar_index.cache_info().misses == 0
    assert e2f6.name == "E2F6" and e2f6.source["jaspar"] == "MA0471.3"
    np.testing.assert_allclose(jaspar_motif("ma0080.7").pfm, jaspar_motif("SPI1").pfm)
    with pytest.raises(MotifError, match="MA9999.1"):
        jaspar_motif("MA9999.1")


def test_jaspar_unknown_name_suggests_close_matches():
    with pytest.raises(MotifError, match=r"unknown motif 'TAL1::GATA1'.*GATA1"):
        jaspar_motif("TAL1::GATA1")
