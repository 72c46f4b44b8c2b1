"""The firm's benchmark: aggregated results of many organizations, and a client's place in it.

* :mod:`.store`: the DuckDB or PostgreSQL store (schema, add, list, remove);
* :mod:`.keys`: the firm key and the keyed hash that stands for a client;
* :mod:`.aggregate`: what leaves an assessment (aggregates of groups large enough);
* :mod:`.exchange`: Parquet export and import;
* :mod:`.compare`: percentile ranks for a report; :mod:`.chart`: its chart;
* :mod:`.cli`: ``xmkit benchmark``.
"""

__all__: list[str] = []
