"""Command line: ``python -m bench <command>``.

Commands
--------
run        run a suite: simulate, train, interpret, score, write results and the report
validate   check a suite file completely without running anything
list       list the simulations, models, methods and metrics a suite can name
check      contract checks on your own model class or method function (MODULE:ATTR)
report     rebuild the report from a results table
simulate   simulate a dataset from a spec (YAML file or preset name) into a directory
ceiling    the best test auROC a simulation allows (the generative model's own likelihood ratio)
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

DESCRIPTION = """\
ARGMINN-Bench: does reading a mechanistically interpretable network (ARGMINN) recover
motifs, their instances and their syntax better than attributions + TF-MoDISco on
standard CNNs? Simulates sequences with planted motifs, trains, interprets and scores
every route against the planted truth."""


def _cmd_simulate(args) -> int:
    from simulations import SpecError, list_presets, simulate

    spec = args.spec
    if not Path(spec).exists() and spec not in list_presets():
        print(f"error: {spec!r} is neither a spec file nor a preset; presets: {', '.join(list_presets())}",
              file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        ds = simulate(spec, n=args.n, seed=args.seed)
    except (SpecError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from simulations.dataset import DatasetOutputError

    try:
        out = ds.save(args.out)
    except DatasetOutputError as exc:
        print(f"error: --out: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # unwritable, read-only, a full disk: one line, not a traceback
        print(f"error: cannot write the dataset to {args.out}: {exc.strerror or exc} "
              f"({exc.filename or args.out})", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - t0
    counts = ds.instances.groupby(["motif", "functional"]).size()
    classes = dict(zip(*__import__("numpy").unique(ds.classes, return_counts=True)))
    print(f"simulated {len(ds)} sequences of {ds.length} bp ({ds.name}, seed {args.seed}) in {elapsed:.2f} s")
    print("classes: " + ", ".join(f"{k} {v}" for k, v in classes.items()))
    print("planted instances:")
    for (motif, functional), c in counts.items():
        print(f"  {motif:<16} {c:>7}{'' if functional else '  (decoy)'}")
    print(f"splits: train {len(ds.splits['train'])}, valid {len(ds.splits['valid'])}, test {len(ds.splits['test'])}")
    print(f"wrote {out}")
    return 0


WEAK_SITE_PVALUE = 1e-4


def _weak_positive_fraction(ds) -> float:
    """Fraction of positives whose planted sites all score below the p < 1e-4 match cutoff (the
    background-rejection default): what a reader must tell apart from background windows."""
    import numpy as np

    from simulations import BackgroundModel, parse_spec
    from simulations.scan import MatchRule

    freqs = BackgroundModel(parse_spec(ds.spec).spec.background).freqs
    cutoff = {name: MatchRule(m, "pvalue", WEAK_SITE_PVALUE, freqs).cutoff for name, m in ds.motifs.items()}
    sites = ds.instances[ds.instances.functional]
    strong = sites[[score >= cutoff[m] for score, m in zip(sites.score, sites.motif)]]
    positives = np.flatnonzero(np.asarray(ds.y).reshape(len(ds), -1).max(axis=1) == 1)
    return float(np.mean(~np.isin(positives, strong.seq.to_numpy()))) if positives.size else float("nan")


def _cmd_ceiling(args) -> int:
    from simulations import SpecError, list_presets, preset_path, simulate
    from simulations.grammar import load_spec_file

    from .metrics.prediction import held_out_ceilings

    for name in args.spec:
        if not Path(name).exists() and name not in list_presets():
            print(f"error: {name!r} is neither a spec file nor a preset; presets: {', '.join(list_presets())}",
                  file=sys.stderr)
            return 2
    print("simulation\trejection\tseed\tceiling_likelihood_ratio\tceiling_planted_content\tweak_positives")
    for name in args.spec:
        for seed in args.seeds:
            try:
                spec = load_spec_file(Path(name) if Path(name).exists() else preset_path(name))
                if args.no_rejection:
                    spec["reject_matches"] = False
                ds = simulate(spec, n=args.n, seed=seed)
                ceilings = held_out_ceilings(ds)
            except (SpecError, ValueError) as exc:
                print(f"error: {name}: {exc}", file=sys.stderr)
                return 2
            print(f"{ds.name}\t{'off' if args.no_rejection else 'on'}\t{seed}\t"
                  f"{ceilings['ceiling_likelihood_ratio']:.4f}\t{ceilings['ceiling_planted_content']:.4f}\t"
                  f"{_weak_positive_fraction(ds):.4f}", flush=True)
    return 0


def _load_suite_or_exit(path):
    from .errors import SuiteError
    from .suite import load_suite

    try:
        return load_suite(path)
    except SuiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def _cmd_validate(args) -> int:
    suite = _load_suite_or_exit(args.suite)
    if suite is None:
        return 2
    n_cells = sum(1 for _ in suite.cells())
    print(f"{args.suite}: valid suite {suite.name!r} ({suite.hash})")
    print(f"  simulations: {', '.join(s.label for s in suite.simulations)}")
    print(f"  models:      {', '.join(m.label for m in suite.models)}")
    print(f"  methods:     {', '.join(m.label for m in suite.methods) or '(none)'}")
    for line in _plugin_lines(suite):
        print(line)
    print(f"  metrics:     {', '.join(suite.metrics)}")
    print(f"  seeds:       {suite.seeds}  ->  {n_cells} cells; output {suite.output}")
    return 0


def _plugin_lines(suite) -> list:
    """One line per plug-in a suite names: where it was imported from and what it declares."""
    import models.registry as mreg

    from .plugins import _LOADED_METHODS, is_plugin

    out, seen = [], set()
    for comp in [*suite.models, *suite.methods]:
        if not is_plugin(comp.name) or comp.name in seen:
            continue
        seen.add(comp.name)
        if comp.name in mreg._PLUGINS:
            out.append(f"  plug-in model  {comp.name}: {mreg._PLUGINS[comp.name][1]}")
        elif comp.name in _LOADED_METHODS:
            m = _LOADED_METHODS[comp.name]
            needs = f", needs {', '.join(m.requires)}" if m.requires else ""
            out.append(f"  plug-in method {comp.name}: {m.source} (produces {', '.join(m.produces)}{needs})")
    return out


def _cmd_check(args) -> int:
    from .errors import PluginError
    from .plugins import check, is_plugin

    if not is_plugin(args.target):
        print(f"error: {args.target!r} is not a plug-in path: write MODULE:ATTR (e.g. my_models:TinyCNN)", file=sys.stderr)
        return 2
    try:
        params = json.loads(args.params) if args.params else {}
        if not isinstance(params, dict):
            raise ValueError("a JSON object")
    except ValueError:
        print(f"error: --params must be a JSON object, got {args.params!r}", file=sys.stderr)
        return 2
    try:
        report = check(args.target, base=Path.cwd(), params=params, length=args.length)
    except PluginError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in report.lines():
        print(line)
    return 0 if report.ok else 1


def _cmd_list(args) -> int:
    from . import registry

    if args.suite and _load_suite_or_exit(args.suite) is None:  # loading it imports the suite's plug-ins
        return 2
    print(registry.describe(args.what))
    return 0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def _suite_executor_kind(path) -> str:
    """The executor a suite file asks for, read without validating it (that comes next)."""
    from simulations.user_files import read_yaml_mapping

    try:  # the guarded reader: a pipe or /dev/zero given as a suite must not hang here
        raw = read_yaml_mapping(path, "suite")
        return str(raw.get("executor", {}).get("kind", "local"))
    except Exception:  # any problem is reported by the validation that follows
        return "local"


def _cmd_run(args) -> int:
    started = time.perf_counter()
    from .executors import make_executor, prestart_local_workers

    if (args.executor or _suite_executor_kind(args.suite)) == "local":
        prestart_local_workers()  # its imports overlap ours: loading the suite imports torch and the stages
    from .runner import run_suite
    from .errors import SuiteError

    suite = _load_suite_or_exit(args.suite)
    if suite is None:
        return 2
    if args.out:
        suite.output = Path(args.out)
    try:
        # the raw strings: select() splits them knowing the labels, so grid labels with commas stay whole
        suite.select(args.simulations, args.models, args.methods)
    except SuiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ex = suite.raw.executor
    kind = args.executor or ex.kind
    try:
        executor = make_executor(kind, args.workers if args.workers is not None else ex.workers, args.address or ex.address,
                                 ex.device)
    except (RuntimeError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from .report import ReportFolderError

    try:
        summary = run_suite(suite, executor=executor, progress=not args.quiet, report=not args.no_report)
    except ReportFolderError as exc:
        print(f"error: {exc} (the results are written; `python -m bench report` builds the report elsewhere)",
              file=sys.stderr)
        return 2
    except OSError as exc:  # an unwritable or full output folder: one line, not a traceback
        print(f"error: cannot write {exc.filename or suite.output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    df = summary.results
    counts = df.status.value_counts()
    # the whole command's time (suite loading, every stage, the report), which is what the user waited
    print(f"suite {suite.name}: {len(df)} result rows in {time.perf_counter() - started:.1f} s "
          f"({', '.join(f'{v} {k}' for k, v in counts.items())}; skipped rows are undefined values or "
          "routes a model cannot take, listed in the report)")
    print("cache: " + ", ".join(f"{k} {v['hits']} reused/{v['misses']} computed" for k, v in summary.counters.items()))
    for key in ("parquet", "csv", "report"):
        if key in summary.paths:
            print(f"  {key}: {summary.paths[key]}")
    if summary.n_failed:
        failed = df[df.status == "failed"]
        print(f"{summary.n_failed} cells had failures:", file=sys.stderr)
        for r in failed.head(20).itertuples():
            print(f"  {r.simulation} / {r.model} / seed {r.seed} / {r.method}: {r.reason}", file=sys.stderr)
        return 1
    return 0


def _suite_description(folders) -> str | None:
    """The suite's description, from the first run folder whose provenance records one."""
    for folder in folders:
        prov = Path(folder) / "provenance.json"
        try:
            text = json.loads(prov.read_text()).get("description") if prov.is_file() else None
        except (OSError, ValueError, AttributeError):
            continue
        if text:
            return str(text)
    return None


def _cmd_report(args) -> int:
    from .report import build_report
    from .results import merge_parts, read_results, write_results

    try:
        parts = [read_results(r) for r in args.results]
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    folders = [Path(r) if Path(r).is_dir() else Path(r).parent for r in args.results]
    from .report import ReportFolderError, claim_report_folder

    try:  # before the merged table is written beside the report
        claim_report_folder(Path(args.out))
    except (ReportFolderError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if len(parts) > 1:
        try:
            df, notes = merge_parts(parts)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        for note in notes:
            print(note)
        # the merged table is what the report shows: keep it beside the report, with each part's own
        # provenance by order (folders are machine paths and stay out of a file that gets committed)
        part_prov = []
        for i, folder in enumerate(folders, start=1):
            prov = folder / "provenance.json"
            part_prov.append({"part": i, "provenance": json.loads(prov.read_text()) if prov.exists() else None})
        write_results(df, args.out, {"merged_parts": part_prov, "notes": notes})
    else:
        df = parts[0]
    # figures read from a stage cache: the latest part's that still exists
    caches = [f / "cache" for f in folders if (f / "cache").exists()]
    try:
        path = build_report(df, args.out, title=args.title or str(df.suite.iloc[0]) if len(df) else "results",
                            cache_root=caches[-1] if caches else None, description=_suite_description(folders))
    except ReportFolderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {exc.filename or args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run", help="run a benchmark suite end to end (resumes from its cache)",
        description="Simulate, train, interpret and score every cell of a suite; write results.parquet, "
                    "results.csv, provenance.json and a report under the suite's output folder. Re-running "
                    "the same suite reuses every finished stage.",
        epilog="example: python -m bench run suites/quick.yaml")
    run.add_argument("suite", metavar="SUITE", help="suite YAML file (e.g. suite.yaml, suites/quick.yaml)")
    run.add_argument("--executor", choices=["local", "ray", "serial"], help="override the suite's executor")
    run.add_argument("--workers", type=_positive_int, help="worker processes (default: the suite's, else one per core)")
    run.add_argument("--address", help="Ray cluster address (with --executor ray); default: a local cluster")
    run.add_argument("--out", help="output folder (default: the suite's `output`)")
    for what in ("simulations", "models", "methods"):
        run.add_argument(f"--{what}", metavar="LABELS",
                         help=f"run only these {what} of the suite (comma-separated labels); a later "
                              "full run reuses what this one computed")
    run.add_argument("--no-report", action="store_true", help="skip building the report")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.set_defaults(func=_cmd_run)

    val = sub.add_parser("validate", help="validate a suite file without running it",
                         description="Validate a suite completely (simulations, models, methods, metrics, "
                                     "parameters) and print the cells it expands to.")
    val.add_argument("suite", metavar="SUITE")
    val.set_defaults(func=_cmd_validate)

    lst = sub.add_parser("list", help="list available simulations, models, methods and metrics",
                         description="List what a suite can name, with parameters and defaults.")
    lst.add_argument("what", nargs="?", choices=["simulations", "models", "methods", "metrics", "all"],
                     default="all")
    lst.add_argument("--suite", metavar="SUITE", help="also list the plug-ins (module:attr) this suite names")
    lst.set_defaults(func=_cmd_list)

    chk = sub.add_parser(
        "check", help="run the contract checks on your own model class or method function",
        description="Contract checks on a plug-in (imported from the current folder, then sys.path): a model "
                    "(output shape (N,) or (N, 1) logits for (N, 4, L) one-hot input, logits not probabilities, "
                    "determinism under a seed, gradients, DeepLIFT-compatible modules) or a method (declares what "
                    "it produces, returns an Interpretation of the documented shapes, deterministic under a "
                    "seed). One line per check; exit 1 when any fails.",
        epilog="example: python -m bench check my_models:TinyCNN --params '{\"filters\": 8}'")
    chk.add_argument("target", metavar="MODULE:ATTR")
    chk.add_argument("--params", help="constructor or method params, as a JSON object")
    chk.add_argument("--length", type=_positive_int, default=100, help="sequence length of the test batch (default 100)")
    chk.set_defaults(func=_cmd_check)

    rep = sub.add_parser("report", help="build the report (tables, figures, index.html) from results",
                         description="Build index.html, README.md, tables and figures from a results table.")
    rep.add_argument("results", metavar="RESULTS", nargs="+",
                     help="results.parquet / results.csv or the run folder; several: the parts of one suite "
                          "run in parts, merged (a later part wins) and written beside the report")
    rep.add_argument("--out", required=True, help="report folder")
    rep.add_argument("--title", help="report title (default: the suite name)")
    rep.set_defaults(func=_cmd_report)

    sim = sub.add_parser(
        "simulate", help="simulate sequences with planted motifs from a grammar spec",
        description="Simulate sequences with planted motifs under a grammar and save them, with the "
                    "ground-truth instance table, as one directory.",
        epilog="SPEC is a YAML file or a preset name (spi1_single, tal_gata_mixture, "
               "e2f6_max_cooperativity, jund_tead_hard_spacing, rest_both, spi1_ctcf_repression, "
               "core_vs_decoys).\nexample: python -m bench simulate spi1_single --n 2000 --seed 0 --out data/spi1",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sim.add_argument("spec", metavar="SPEC", help="simulation spec: a YAML file or a preset name")
    sim.add_argument("--n", type=int, required=True, help="number of sequences")
    sim.add_argument("--seed", type=int, default=0, help="random seed (same seed, same dataset; default 0)")
    sim.add_argument("--out", required=True,
                     help="output directory: new, empty, or a dataset saved before (its spec.yaml marks it), "
                          "which is replaced atomically; any other folder is refused")
    sim.set_defaults(func=_cmd_simulate)

    ceil = sub.add_parser(
        "ceiling", help="the best test auROC a simulation allows",
        description="Simulate each spec and score its test split with two oracles: the likelihood ratio of the "
                    "generative model (grammar, PFMs, background: the best any model can do, up to "
                    "background-match rejection, which it ignores) and the planted content alone (motifs, "
                    "strands, spacings). Prints one tab-separated row per spec and seed.",
        epilog="example: python -m bench ceiling e2f6_max_cooperativity --n 20000 --seeds 0 1 2 --no-rejection")
    ceil.add_argument("spec", metavar="SPEC", nargs="+", help="simulation spec: a YAML file or a preset name")
    ceil.add_argument("--n", type=int, default=20000, help="sequences per dataset (default 20000)")
    ceil.add_argument("--seeds", type=int, nargs="+", default=[0], help="dataset seeds (default 0)")
    ceil.add_argument("--no-rejection", action="store_true",
                      help="simulate without background-match rejection, where the likelihood ratio is exact")
    ceil.set_defaults(func=_cmd_ceiling)
    return parser


class _Terminated(KeyboardInterrupt):
    """SIGTERM, taken the way Ctrl-C is: the pool is shut down and finished stages are kept."""


def _on_sigterm(signum, frame):
    # a second SIGTERM during the clean-up ends the process at once (the workers follow it: they
    # watch this process, see bench.executors)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise _Terminated()


def shadowing_problems() -> list[str]:
    """A user's own ``models.py`` / ``simulations/`` (in the working directory, or anywhere ahead of
    the benchmark on ``sys.path``) would be imported in place of the benchmark's packages: one line each."""
    import importlib.util

    root = Path(__file__).resolve().parent.parent
    out = []
    for name in ("models", "simulations"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        origin = getattr(spec, "origin", None) if spec is not None else None
        if origin is None:
            continue
        if Path(origin).resolve().parent.parent != root and Path(origin).resolve().parent != root / name:
            out.append(f"error: {origin} shadows the benchmark's own package {name!r} ({root / name}); rename "
                       f"your {Path(origin).name if Path(origin).name != '__init__.py' else name + '/'} (e.g. "
                       f"my_{name}), or run from another folder")
    return out


def main(argv=None) -> int:
    problems = shadowing_problems()
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return args.func(args)
    except KeyboardInterrupt as exc:
        # every finished stage is already in the cache (written atomically): say how to go on
        what = "terminated (SIGTERM)" if isinstance(exc, _Terminated) else "interrupted"
        print(f"\n{what}: finished stages are kept; run `python -m bench {args.command} ...` again with the "
              "same arguments to resume", file=sys.stderr)
        return 128 + signal.SIGTERM if isinstance(exc, _Terminated) else 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
