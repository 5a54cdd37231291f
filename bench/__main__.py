"""Command line: ``python -m bench <command>``.

Commands
--------
simulate   simulate a dataset from a spec (YAML file or preset name) into a directory
"""

from __future__ import annotations

import argparse
import sys
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
    out = ds.save(args.out)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

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
    sim.add_argument("--out", required=True, help="output directory (replaced atomically)")
    sim.set_defaults(func=_cmd_simulate)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
