-- Per request and title: how many of its hard constraints the title meets (all; and besides years),
-- their summed similarity, and the list of what matched and how, in query order (all; and besides
-- years). Constraints the user rules out are not wishes to meet: int_excluded_titles.sql takes
-- them. Reads int_constraint_matches (hard constraints the title meets by search's rule).
with source as (
    select cm.*
    from int_constraint_matches as cm
    where cm.kind = 'hard' and cm.similarity > 0 and not cm.is_excluded
),

final as (
    select
        src.qid,
        src.title_id,
        count(*) as n_met,
        count(*) filter (where src.how != 'year') as n_met_besides_year,
        sum(src.similarity) as similarity,
        list(
            { 'type': src.entity_type, 'value': src.value, 'kg_value': src.kg_value, 'how': src.how }
            order by src.position
        ) as matched,
        list(
            { 'type': src.entity_type, 'value': src.value, 'kg_value': src.kg_value, 'how': src.how }
            order by src.position
        ) filter (where src.how != 'year') as matched_besides_year
    from source as src
    group by src.qid, src.title_id
)

select * from final
