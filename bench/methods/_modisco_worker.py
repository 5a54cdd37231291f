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

    pos, neg = modiscolite.tfmodisco.TFMoDISco(one_hot=one_hot, hypothetical_contribs=hyp,
                                               verbose=False, **api_kwargs(params))
    if pos is None and neg is None:
        # no motifs: an empty results file, still carrying the window, is the answer
        with h5py.File(job["output"], "w") as f:
            f.attrs["window_size"] = end - start
    else:
        modiscolite.io.save_hdf5(job["output"], pos, neg, end - start)
    print(json.dumps({"n_pos": len(pos or []), "n_neg": len(neg or [])}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
