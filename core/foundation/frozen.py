"""A read-only dict for data the app shares between sessions (presets, published numbers)."""

from __future__ import annotations


class FrozenDict(dict):
    """A read-only dict: reads like a dict (and is one, for type checks and JSON), refuses every change,
    and pickles (Streamlit's ``st.cache_data`` pickles return values; ``MappingProxyType`` cannot)."""

    __slots__ = ()

    def _read_only(self, *args, **kwargs):
        raise TypeError("this data is shared and read-only; copy it with dict(...) to change it")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self):
        return (type(self), (dict(self),))

    def __hash__(self):  # type: ignore[override]
        return hash(tuple(sorted(self.items(), key=lambda kv: kv[0])))
