"""The notebook API: metrics as DataFrames from a store."""

from __future__ import annotations

import pandas as pd
import pytest

import parcours


def test_workspace_gives_every_catalogue_metric_as_a_dataframe(demo_world):
    db, _ = demo_world
    with parcours.connect(db) as ws:
        assert "preceded_by_other_channel" in ws.metrics() and "first_contact_resolution" in ws.metrics()
        df = ws.metric("preceded_by_other_channel")
        assert isinstance(df, pd.DataFrame) and {"channel", "n", "share"} <= set(df.columns)
        by_segment = ws.nps(by=["segment"])
        overall = ws.nps()
        assert by_segment.n.sum() == overall.n.iloc[0]  # the slices add up to the whole
        paths = ws.frame(parcours.metrics.paths(ws.episodes(), top=3))
        assert len(paths) == 3 and paths["rank"].tolist() == [1, 2, 3]
        with pytest.raises(KeyError, match="unknown metric"):
            ws.metric("happiness")
