"""Pipelines: whole jobs built from the encoder and the formats - compress one series
(:mod:`.compress`, with :mod:`.tolerance` blocks), reconstruct (:mod:`.reconstruct`, plots in
:mod:`.plot`), stream (:mod:`.stream`), and many series (:mod:`.many`,
:mod:`.many_files`, :mod:`.dask_engine`). All encoding goes through :mod:`.encode`."""
