-- severity: error (threshold: 0 rows). Rows no metric can place: a NULL id or field, or a source
-- other than 'gold' and 'pred'. eval/score.py refuses to score a file with such rows.
-- Reads `predictions`.
with source as (select * from predictions),

final as (
    select
        src.id,
        src.source,
        src.field,
        src.value
    from source as src
    where
        src.id is null
        or src.field is null
        or src.source is null
        or src.source not in ('gold', 'pred')
)

select * from final
