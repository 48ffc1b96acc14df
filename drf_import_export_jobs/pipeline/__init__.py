"""The work behind the job models: reading, importing and exporting files.

The models (:mod:`drf_import_export_jobs.models`) keep the state machines and
call one function here per phase. Where each step of a row happens:

``imports/`` (an import job's dry run and import)
    ``runner``       streams the file in chunks, chooses the engine, reports
                     progress, stops on cancel (:func:`~.imports.runner.run_resource`)
    ``reading``      opens the upload and yields its rows, within the limits
    ``schedule``     which chunks a run imports, in which transaction (claims
                     of the chunked mode, on one task or several)
    ``keys``         the import keys a chunk's rows name (parallel chunks)
    ``engines``      which engine runs a resource (``bulk`` or ``rows``) and why
    ``bulk``         the bulk engine: one chunk converted, classified, written
    ``rowreads``     the rows engine's instance and foreign key reads, per chunk
    ``cells``        a cell converted as the resource's widget would
    ``foreignkeys``  a chunk's foreign key values resolved with one query
    ``lookups``      a chunk's existing rows and unique values fetched
    ``queries``      the query helpers of those reads
    ``validation``   ``full_clean()`` without per-row queries
    ``state``        what a chunk has decided so far
    ``writes``       new rows copied or bulk-inserted, changed rows updated
    ``replay``       a dry-run chunk recorded, and replayed by the import
    ``replayfile``   the records as JSON lines in the job's storage
    ``unwritten``    dry-run chunks PostgreSQL is known to take, left unwritten
    ``ledger``       what each chunk of an import wrote, recorded to undo it
    ``revert``       an imported job undone from its ledger
    ``sequences``    id sequences moved forward only
    ``results``      totals, row errors and the error report (JSON, CSV)
    ``messages``     readable messages for raw row errors

``exports/`` (an export job)
    ``runner``       the queryset rendered and written (:func:`~.exports.runner.run_export`)
    ``values``       the ``values_list`` path for plain resources
    ``writers``      one writer per file format, chunk by chunk

``escaping``         formula escaping of cells, shared by both sides
``gcthreshold``      fewer garbage collector passes while a job runs

File formats are declared once in :mod:`drf_import_export_jobs.formats`.
"""
