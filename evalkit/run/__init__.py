"""The parts of a run, each callable alone (drawn in ``docs/design/run-parts.md``).

::

    session.open_session   server + backend + price + cache + call path, closed in one place
    call.CallPath          one request: cache → admission → retry → settle → store
    scoring.plan_scoring   parser, metrics, grouping, aggregator: shared by run and rescore
    schedule.schedule      items in, answers out (bounded workers, one recorder); no scoring
    record.Recorder        answer → parsed, scored, a row in the journal, counted
    score.aggregate        rows → per-sample, corpus and per-group metrics → summary rows
    report.manifest        the typed, versioned run.json

``evalkit.run.pipeline.run`` composes them into a run; ``rescore`` makes the same scoring plan
from a run folder; ``estimate`` opens a session that sends nothing.
"""
