-- Queries with mistakes, worst first: mistakes = (1 if the intent is wrong or missing) + gold entities
-- missed + predicted entities not in gold (strict matching, as exact_match.sql). Only queries with
-- at least one mistake appear, ordered by mistakes then id; the report shows the top rows
-- (eval/config.yml report.worst_errors). Entities are shown as 'type: value' with the first spelling
-- seen, joined by '; '. eval/score.py adds the query text when it knows the records.
-- Reads int_query_outcomes and int_entity_matches.
with entity_lists as (
    select
        m.id,
        string_agg(m.gold_shown, '; ' order by m.gold_shown) as gold_entities,
        string_agg(m.pred_shown, '; ' order by m.pred_shown) as pred_entities,
        string_agg(m.gold_shown, '; ' order by m.gold_shown) filter (where not m.in_pred) as missed,
        string_agg(m.pred_shown, '; ' order by m.pred_shown) filter (where not m.in_gold) as spurious
    from int_entity_matches as m
    group by m.id
),

final as (
    select
        q.* exclude (q.is_valid, q.is_correct, q.n_missed, q.n_spurious, q.is_exact, q.n_mistakes),
        el.* exclude (el.id),
        q.n_mistakes
    from int_query_outcomes as q
    left join entity_lists as el on q.id = el.id
    where not q.is_exact
    order by q.n_mistakes desc, q.id asc
)

select * from final
