"""Saving a dataset never destroys what it did not write; loading names the file that is damaged."""

import os
import stat

import pytest

from bench.__main__ import main
from simulations import SimulatedDataset, simulate
from simulations.dataset import DATASET_MARKER, DatasetOutputError, is_saved_dataset


@pytest.fixture(scope="module")
def ds():
    return simulate("spi1_single", 20, seed=0)


def _victim(folder):
    (folder / "sub").mkdir(parents=True)
    (folder / "important.txt").write_text("keep")
    (folder / "sub" / "notes.txt").write_text("keep")


def _untouched(folder):
    return (folder / "important.txt").read_text() == "keep" and (folder / "sub" / "notes.txt").read_text() == "keep"


def test_save_refuses_a_folder_that_is_not_a_saved_dataset(tmp_path, ds):
    _victim(tmp_path / "victim")
    with pytest.raises(DatasetOutputError, match=r"victim is not empty and is not a saved dataset \(no spec.yaml"):
        ds.save(tmp_path / "victim")
    assert _untouched(tmp_path / "victim")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["victim"]  # no temporary folder left beside it
    (tmp_path / "afile").write_text("x")
    with pytest.raises(DatasetOutputError, match="is not a folder"):
        ds.save(tmp_path / "afile")
    assert (tmp_path / "afile").read_text() == "x"


def test_save_refuses_a_dataset_folder_holding_other_files(tmp_path, ds):
    ds.save(tmp_path / "d")
    (tmp_path / "d" / "my_notes.txt").write_text("keep")
    with pytest.raises(DatasetOutputError, match="my_notes.txt"):
        ds.save(tmp_path / "d")
    assert (tmp_path / "d" / "my_notes.txt").read_text() == "keep"


def test_save_into_new_empty_or_earlier_dataset_folders(tmp_path, ds):
    assert ds.save(tmp_path / "new" / "d") == (tmp_path / "new" / "d").resolve()
    (tmp_path / "empty").mkdir()
    ds.save(tmp_path / "empty")
    assert is_saved_dataset(tmp_path / "empty")
    other = simulate("spi1_single", 24, seed=1)
    inode = (tmp_path / "empty" / DATASET_MARKER).stat().st_ino
    other.save(tmp_path / "empty")  # an earlier dataset is replaced, in one step
    back = SimulatedDataset.load(tmp_path / "empty")
    assert len(back) == 24 and back.seed == 1 and (tmp_path / "empty" / DATASET_MARKER).stat().st_ino != inode
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "new"]


def test_save_gives_the_folder_the_umask_mode(tmp_path, ds):
    old = os.umask(0o022)
    try:
        path = ds.save(tmp_path / "d")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o755


def test_cli_simulate_refuses_with_one_line(tmp_path, capsys, monkeypatch):
    _victim(tmp_path / "victim")
    rc = main(["simulate", "spi1_single", "--n", "20", "--out", str(tmp_path / "victim")])
    err = capsys.readouterr().err
    assert rc == 2 and _untouched(tmp_path / "victim")
    assert err.count("\n") == 1 and err.startswith("error: --out: ") and str(tmp_path / "victim") in err
    assert "Traceback" not in err

    # `--out .` in a working folder with work in it
    _victim(tmp_path / "cwd")
    monkeypatch.chdir(tmp_path / "cwd")
    rc = main(["simulate", "spi1_single", "--n", "20", "--out", "."])
    err = capsys.readouterr().err
    assert rc == 2 and _untouched(tmp_path / "cwd") and str(tmp_path / "cwd") in err and err.count("\n") == 1

    # a saved dataset may be written again, through `.` too
    monkeypatch.chdir(tmp_path)
    assert main(["simulate", "spi1_single", "--n", "20", "--out", "data"]) == 0
    monkeypatch.chdir(tmp_path / "data")
    assert main(["simulate", "spi1_single", "--n", "22", "--out", "."]) == 0
    assert len(SimulatedDataset.load(tmp_path / "data")) == 22
    capsys.readouterr()


def test_cli_simulate_unwritable_out_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    rc = main(["simulate", "spi1_single", "--n", "20", "--out", str(tmp_path / "file" / "d")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_load_names_the_damaged_file(tmp_path, ds):
    path = ds.save(tmp_path / "d")
    with open(path / "arrays.npz", "r+b") as f:
        f.truncate(100)
    with pytest.raises(ValueError, match=r"d/arrays.npz is unreadable \(BadZipFile"):
        SimulatedDataset.load(path)
    ds.save(path)
    (path / "instances.parquet").write_bytes(b"PAR1")
    with pytest.raises(ValueError, match="instances.parquet is unreadable"):
        SimulatedDataset.load(path)


def test_a_datasets_repr_is_a_summary_not_its_arrays():
    from simulations import simulate

    ds = simulate("spi1_single", 300, seed=0)
    text = repr(ds)
    assert text.startswith("SimulatedDataset('") and "300 sequences x" in text and "SPI1" in text.upper()
    assert "train " in text and "planted sites" in text and len(text) < 600
