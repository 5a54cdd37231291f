"""Small hand-made grammars shared by tests, and a helper to make bad variants of them."""

import copy

#: the value that tells :func:`edited` to delete the key
DELETE = object()


def edited(base: dict, path: tuple, value) -> dict:
    """A deep copy of ``base`` with the entry at ``path`` (keys and list indices) set to ``value``, or
    deleted when ``value`` is :data:`DELETE`."""
    out = copy.deepcopy(base)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def lone_motif_spec(motif: dict, orientation: str = "+", name: str = "simulation") -> dict:
    """Positives hold one motif ``M`` anywhere (60 bp, GC 0.5, no background rejection); negatives are background."""
    return {"name": name, "length": 60, "background": {"gc": 0.5}, "reject_matches": False, "motifs": {"M": motif},
            "classes": [{"name": "pos", "label": 1, "fraction": 0.5,
                         "configs": [{"name": "m", "motifs": [{"motif": "M", "orientation": orientation}],
                                      "position": {"mode": "uniform"}}]},
                        {"name": "neg", "label": 0, "fraction": 0.5, "configs": [{"name": "bg"}]}]}
