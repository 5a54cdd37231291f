"""Axes-level plots (bench.plots): each draws on the Axes it is given, or a new one, and returns it."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from bench.plots import plot_calls, plot_logo, plot_track  # noqa: E402


def test_each_plot_draws_on_the_given_axes_and_returns_it():
    fig, axes = plt.subplots(3, 1)
    pfm = np.full((4, 6), 0.25)
    pfm[:, 2] = [1, 0, 0, 0]
    assert plot_logo(pfm, ax=axes[0], title="M") is axes[0] and axes[0].get_title() == "M"
    track = np.zeros((4, 20))
    track[1, 5], track[3, 9] = 0.8, -0.4
    planted = pd.DataFrame({"start": [4, 30], "end": [10, 36], "motif": ["M", "N"], "functional": [True, True]})
    ax = plot_track(track, ax=axes[1], start=100, planted=planted.assign(start=[104, 130], end=[110, 136]))
    assert ax is axes[1] and ax.get_xlim() == (99.5, 119.5)
    assert [t.get_text() for t in ax.texts] == ["M"]  # the site outside the window is not named
    calls = {"a": pd.DataFrame({"start": [4], "end": [10], "motif": ["M"]}), "b": pd.DataFrame(columns=["start", "end"])}
    ax = plot_calls(calls, 50, ax=axes[2], planted=planted)
    assert ax is axes[2] and [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert len(ax.lines) == 1  # one call drawn, route b called nothing
    plt.close(fig)


def test_without_axes_a_new_figure_is_made():
    ax = plot_logo(np.full((4, 3), 0.25))
    assert ax.figure is not None
    plt.close(ax.figure)


def test_a_matrix_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"pfm must have shape \(4, W\).*got shape \(3, 5\)"):
        plot_logo(np.ones((3, 5)) / 3)
    with pytest.raises(ValueError, match=r"contributions must have shape \(4, W\)"):
        plot_track(np.zeros(10))
