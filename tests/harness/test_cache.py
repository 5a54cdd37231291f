import threading

import pytest

from bench.cache import StageCache


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
    methods, sim, model = suite.methods, suite.simulations[0], suite.models[0]
    seed = cell_seed("method", sim, 0, model)
    keys = [method_key(m, "model-key", {"n_sequences": 10}, seed) for m in methods]
    assert len({s for _, s in keys}) == 1
    assert len({key for key, _ in keys}) == len(methods)
    assert cell_seed("method", sim, 1, model) != seed
    assert cell_seed("method", sim, 0, suite.models[1]) != seed


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
        seeds = [data_seed, model_seed] + [runner.cell_seed(p, sim, 0, model) for p in ("method", "syntax")]
        return (ds_key, m_key), seeds + [runner.cell_seed("interpret", sim, 0)]

    keys, seeds = everything()
    monkeypatch.setattr(runner, "code_version", lambda *paths: "another version")
    other_keys, other_seeds = everything()
    assert other_seeds == seeds
    assert all(a != b for a, b in zip(keys, other_keys))
