-- Per request: how many hard constraints there are (all; and besides years, which only pick the named
-- title in similar_to) and how many soft ones, the user's wishes only (an exclusion is a filter, not a
-- constraint to meet). Reads int_request_constraints.
with source as (
    select rc.*
    from int_request_constraints as rc
    where not rc.is_excluded
),

final as (
    select
        src.qid,
        count(*) filter (where src.kind = 'hard') as n_hard,
        count(*) filter (where src.kind = 'hard' and src.pool != 'year') as n_hard_besides_year,
        count(*) filter (where src.kind = 'soft') as n_soft
    from source as src
    group by src.qid
)

select * from final
