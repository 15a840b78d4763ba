"""Cached chart specs carry their inline data as Arrow bytes, which Streamlit sends as they are."""

import pyarrow as pa

from pages._components.chart_data import with_arrow_datasets


def test_row_datasets_become_arrow_bytes_with_the_same_rows():
    spec = {"mark": "line", "datasets": {"d1": [{"x": 1, "y": 2.5}, {"x": 2, "y": 3.0}]}}
    converted = with_arrow_datasets(spec)
    assert converted["mark"] == "line" and isinstance(converted["datasets"]["d1"], bytes)
    table = pa.ipc.open_stream(converted["datasets"]["d1"]).read_all()
    assert table.column("x").to_pylist() == [1, 2] and table.column("y").to_pylist() == [2.5, 3.0]
    assert isinstance(spec["datasets"]["d1"], list)  # the input is left as it was


def test_specs_without_row_data_are_left_alone():
    assert with_arrow_datasets({"mark": "bar"}) == {"mark": "bar"}
    geo = {"type": "FeatureCollection", "features": []}
    assert with_arrow_datasets({"datasets": {"g": geo}})["datasets"]["g"] == geo
