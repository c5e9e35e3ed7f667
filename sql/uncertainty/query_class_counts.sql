-- tp, fp and fn per query and class (intent, strict entity): the unit that eval/uncertainty.py resamples
-- by template. Summed over all queries they are int_class_counts' 'intent' and 'entity' rows, which
-- per_class_*.sql turn into the report. Run eval/score.py's setup.sql first in the DuckDB CLI.
select
    c.id,
    c.kind,
    c.label,
    c.tp,
    c.fp,
    c.fn
from int_query_class_counts as c
order by c.kind, c.label, c.id
