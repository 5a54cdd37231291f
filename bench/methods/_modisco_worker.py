"""Run one modisco-lite job in this (fresh) process: ``python -m bench.methods._modisco_worker job.json``.

Kept free of torch and memelite imports so modisco-lite's numba children fork before any other
thread pool exists (see ``bench.methods.modisco``).
"""

from __future__ import annotations

import json
import sys


def main(job_path: str) -> int:
    import h5py
    import numpy as np

    from bench.methods.modisco import api_kwargs, to_modisco_layout, window_offsets

    job = json.loads(open(job_path).read())
    params = job["params"]
    with np.load(job["inputs"]) as z:
        x, hyp = z["x"], z["hypothetical"]
    start, end = window_offsets(x.shape[2], params["window"])
    one_hot = to_modisco_layout(x[:, :, start:end], "x")
    hyp = to_modisco_layout(hyp[:, :, start:end], "hypothetical")

    import modiscolite

    reason = ""
    try:
        pos, neg = modiscolite.tfmodisco.TFMoDISco(one_hot=one_hot, hypothetical_contribs=hyp,
                                                   verbose=False, **api_kwargs(params))
    except IndexError as exc:
        # modisco-lite fits a Laplacian null on each side of the mode of the window sums and indexes
        # an empty array when one side is empty, as with constant attributions (a model whose output
        # ignores its input): there are no seqlets to report, which is an answer, not a crash
        if not _is_one_signed_null(exc):
            raise
        pos = neg = None
        reason = ("attribution windows are constant (or all on one side of their mode): modisco-lite's "
                  "null is undefined, no seqlets")
    if pos is None and neg is None:
        # no motifs: an empty results file, still carrying the window, is the answer
        with h5py.File(job["output"], "w") as f:
            f.attrs["window_size"] = end - start
            f.attrs["no_patterns_reason"] = reason or "modisco-lite found no patterns"
    else:
        modiscolite.io.save_hdf5(job["output"], pos, neg, end - start)
    print(json.dumps({"n_pos": len(pos or []), "n_neg": len(neg or []), "reason": reason}))
    return 0


def _is_one_signed_null(exc: BaseException) -> bool:
    import traceback

    return any(frame.name == "_laplacian_null" for frame in traceback.extract_tb(exc.__traceback__))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
