"""Small hand-made grammars shared by tests."""


def lone_motif_spec(motif: dict, orientation: str = "+", name: str = "simulation") -> dict:
    """Positives hold one motif ``M`` anywhere (60 bp, GC 0.5, no background rejection); negatives are background."""
    return {"name": name, "length": 60, "background": {"gc": 0.5}, "reject_matches": False, "motifs": {"M": motif},
            "classes": [{"name": "pos", "label": 1, "fraction": 0.5,
                         "configs": [{"name": "m", "motifs": [{"motif": "M", "orientation": orientation}],
                                      "position": {"mode": "uniform"}}]},
                        {"name": "neg", "label": 0, "fraction": 0.5, "configs": [{"name": "bg"}]}]}
