import json
import logging
import os
import stat
import threading
import zipfile

import numpy as np
import pytest

from bench.cache import MANIFEST, StageCache, atomic_write_text


def test_get_or_compute_computes_once_and_counts(tmp_path):
    cache = StageCache(tmp_path)
    calls = []

    def compute(d):
        calls.append(1)
        (d / "x.txt").write_text("hello")

    p1 = cache.get_or_compute("dataset", "abc", compute)
    p2 = cache.get_or_compute("dataset", "abc", compute)
    assert p1 == p2 and (p1 / "x.txt").read_text() == "hello"
    assert len(calls) == 1
    assert cache.counters() == {"dataset": {"hits": 1, "misses": 1}}


def test_interrupted_compute_leaves_nothing(tmp_path):
    cache = StageCache(tmp_path)

    def boom(d):
        (d / "partial.txt").write_text("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cache.get_or_compute("model", "k1", boom)
    assert not cache.has("model", "k1")
    assert list((tmp_path / "model").iterdir()) == []
    cache.get_or_compute("model", "k1", lambda d: (d / "ok").write_text("1"))
    assert cache.has("model", "k1")


def test_concurrent_writers_do_not_corrupt(tmp_path):
    cache = StageCache(tmp_path)
    barrier = threading.Barrier(4)

    def compute(d):
        barrier.wait()
        (d / "v.txt").write_text("same")

    threads = [threading.Thread(target=cache.get_or_compute, args=("cell", "k", compute)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (cache.path("cell", "k") / "v.txt").read_text() == "same"
    leftovers = [p for p in (tmp_path / "cell").iterdir() if p.name != "k"]
    assert leftovers == []


def test_keys_cannot_escape_the_cache(tmp_path):
    cache = StageCache(tmp_path)
    for bad in ("../x", "a/b", ""):
        with pytest.raises(ValueError, match="plain names"):
            cache.path("dataset", bad)


def test_methods_of_a_cell_share_their_seed():
    """Every route of a cell sees the same shuffled references; the cache keys still differ."""
    from bench.runner import cell_seed, method_key
    from bench.suite import load_suite
    suite = load_suite("suites/quick.yaml")
    methods, sim = suite.methods, suite.simulations[0]
    seed = cell_seed("method", sim, 0)
    keys = [method_key(m, "model-key", {"n_sequences": 10}, seed) for m in methods]
    assert len({s for _, s in keys}) == 1
    assert len({key for key, _ in keys}) == len(methods)
    assert cell_seed("method", sim, 1) != seed
    # every model of a seed shares it (the same references); the stage keys still differ by model
    other = [method_key(m, "another-model-key", {"n_sequences": 10}, seed) for m in methods]
    assert {s for _, s in other} == {s for _, s in keys} and not {k for k, _ in other} & {k for k, _ in keys}


def test_seeds_do_not_move_with_code_versions(monkeypatch):
    """A code change bumps the stage keys (so caches are recomputed) but no seed: the same suite then
    simulates, trains on and interprets the same sequences, and results change only where the code's
    output does. (Seeds once hashed stage keys, which carry code versions: editing the simulator
    without changing a sequence moved every interpreted subset.)"""
    from bench import runner
    from bench.suite import load_suite
    suite = load_suite("suites/quick.yaml")
    sim, model = suite.simulations[0], suite.models[0]

    def everything():
        ds_key, data_seed = runner.dataset_key(sim, 0)
        m_key, model_seed = runner.model_key(sim, model, 0, ds_key)
        seeds = [data_seed, model_seed] + [runner.cell_seed(p, sim, 0) for p in ("method", "syntax")]
        return (ds_key, m_key), seeds + [runner.cell_seed("interpret", sim, 0)]

    keys, seeds = everything()
    monkeypatch.setattr(runner, "code_version", lambda *paths: "another version")
    other_keys, other_seeds = everything()
    assert other_seeds == seeds
    assert all(a != b for a, b in zip(keys, other_keys))


# --------------------------------------------------------------------------- corrupt entries


def _cut(path, keep=None):
    """Truncate a file as a full disk or an interrupted copy would."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size // 2 if keep is None else keep)


def _rows(d):
    (d / "rows.json").write_text(json.dumps([{"metric": "m", "value": i} for i in range(50)]))


def _arrays(d):
    (d / "dataset").mkdir()
    np.savez_compressed(d / "dataset" / "arrays.npz", x=np.arange(5000))


def _model(d):  # model.pt is a zip archive (torch.save's format)
    with zipfile.ZipFile(d / "model.pt", "w") as z:
        z.writestr(zipfile.ZipInfo("archive/data.pkl", date_time=(2020, 1, 1, 0, 0, 0)), bytes(range(256)) * 16)


@pytest.mark.parametrize("stage,compute,rel", [("cell", _rows, "rows.json"),
                                               ("dataset", _arrays, "dataset/arrays.npz"),
                                               ("model", _model, "model.pt")])
def test_a_truncated_entry_is_logged_by_path_and_recomputed(tmp_path, caplog, stage, compute, rel):
    cache = StageCache(tmp_path)
    calls = []

    def counted(d):
        calls.append(1)
        compute(d)

    entry = cache.get_or_compute(stage, "k1", counted)
    good = (entry / rel).read_bytes()
    assert (entry / MANIFEST).exists() and cache.has(stage, "k1")
    _cut(entry / rel)
    with caplog.at_level(logging.WARNING, logger="bench"):
        assert not cache.has(stage, "k1")
        again = cache.get_or_compute(stage, "k1", counted)
    assert again == entry and (entry / rel).read_bytes() == good and len(calls) == 2
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings and str(entry) in warnings[0].getMessage() and rel in warnings[0].getMessage()
    assert cache.counters() == {stage: {"hits": 0, "misses": 2}}
    assert cache.has(stage, "k1")
    assert [p.name for p in (tmp_path / stage).iterdir()] == ["k1"]  # no stale or temporary folder left


def test_a_changed_or_deleted_file_makes_an_entry_corrupt(tmp_path):
    cache = StageCache(tmp_path)
    entry = cache.get_or_compute("cell", "a", _rows)
    text = (entry / "rows.json").read_text()
    (entry / "rows.json").write_text(text.replace("49", "48"))  # same size, other bytes
    assert not cache.has("cell", "a")
    cache.get_or_compute("cell", "a", _rows)
    (entry / "rows.json").unlink()
    assert not cache.has("cell", "a")
    (entry / MANIFEST).write_text("{not json")
    assert not cache.has("cell", "a")
    cache.get_or_compute("cell", "a", _rows)
    assert cache.has("cell", "a") and json.loads((entry / "rows.json").read_text())[49]["value"] == 49


def test_entries_without_a_manifest_are_kept_if_they_open(tmp_path):
    """Entries written before manifests existed: kept (and given a manifest) when their files open
    as what they are, recomputed when not."""
    cache = StageCache(tmp_path)
    for key, compute in (("ok", _rows), ("cut", _rows), ("npz", _arrays), ("cutnpz", _arrays)):
        entry = cache.path("cell", key)
        entry.mkdir(parents=True)
        compute(entry)
        (entry / "meta.json").write_text("{}")
        (entry / ".complete").write_text("")
    _cut(cache.path("cell", "cut") / "rows.json")
    _cut(cache.path("cell", "cutnpz") / "dataset" / "arrays.npz")
    assert cache.has("cell", "ok") and cache.has("cell", "npz")
    assert (cache.path("cell", "ok") / MANIFEST).exists()  # adopted: checked by hash from now on
    assert not cache.has("cell", "cut") and not cache.has("cell", "cutnpz")
    cache.get_or_compute("cell", "cut", _rows)
    assert cache.has("cell", "cut")


def test_an_entry_is_not_served_over_a_corrupt_input(tmp_path):
    """A cell's rows were computed from a model: if the model's file is damaged, the cell counts as
    absent too, so that rerunning recomputes both instead of serving rows above a broken model."""
    cache = StageCache(tmp_path)
    cache.get_or_compute("model", "m1", _model)
    cache.get_or_compute("cell", "c1", _rows, depends={"model": ["m1"]})
    assert cache.has("cell", "c1")
    _cut(cache.path("model", "m1") / "model.pt")
    assert not cache.has("cell", "c1")
    cache.get_or_compute("model", "m1", _model)
    assert cache.has("cell", "c1")
    import shutil

    shutil.rmtree(cache.path("model", "m1"))
    assert not cache.has("cell", "c1")


def test_concurrent_repairs_of_a_corrupt_entry(tmp_path):
    cache = StageCache(tmp_path)
    entry = cache.get_or_compute("cell", "k", _rows)
    _cut(entry / "rows.json")
    barrier = threading.Barrier(4)

    def compute(d):
        barrier.wait()
        _rows(d)

    errors = []

    def repair():
        try:
            cache.get_or_compute("cell", "k", compute)
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    threads = [threading.Thread(target=repair) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and cache.has("cell", "k")
    assert [p.name for p in (tmp_path / "cell").iterdir()] == ["k"]


def test_entries_and_files_follow_the_umask(tmp_path):
    """mkdtemp/mkstemp make 0700/0600 whatever the umask; what the cache and the results writer
    leave must be readable by whoever the umask lets read it."""
    import tempfile

    def compute(d):
        fd, name = tempfile.mkstemp(dir=d)  # as models.save_model writes model.pt
        os.close(fd)
        os.replace(name, d / "model.pt")
        (d / "sub").mkdir(mode=0o700)

    old = os.umask(0o022)
    try:
        entry = StageCache(tmp_path).get_or_compute("model", "k", compute)
        text = atomic_write_text(tmp_path / "provenance.json", "{}")
    finally:
        os.umask(old)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(entry) == 0o755 and mode(entry / "sub") == 0o755
    assert mode(entry / "model.pt") == 0o644 and mode(entry / MANIFEST) == 0o644
    assert mode(text) == 0o644
    os.umask(0o077)
    try:
        text = atomic_write_text(tmp_path / "private.json", "{}")
    finally:
        os.umask(old)
    assert mode(text) == 0o600
