"""The parts of a run, each callable alone (drawn in ``docs/design/run-parts.md``).

::

    session.open_session   backend + price + cache + caller + budget, closed in one place
    schedule.schedule      items in, answers out (bounded workers, one recorder); no scoring
    record.Recorder        answer → parsed, scored, a row in the journal, counted
    score.aggregate        rows → per-sample, corpus and per-group metrics → summary rows
    report.manifest        the typed, versioned run.json

``evalkit.pipeline.run`` composes them into a run; ``rescore`` reuses the recorder's scoring
and the aggregator; ``estimate`` opens a session that sends nothing.
"""
