-- Per request and title: the summed BM25 of its soft constraints, how many the title carries
-- verbatim (n_exact), how many it carries verbatim or by at least soft_min_coverage of their words
-- (n_soft_met), and what matched ('exact', or 'text' with the share of words); constraints the user
-- rules out are left to int_excluded_titles.sql. Reads int_soft_scores, search_settings.
with source as (
    select ss.*
    from int_soft_scores as ss
    where not ss.is_excluded
),

final as (
    select
        src.qid,
        src.title_id,
        sum(src.score) as score,
        count(*) filter (where src.exact) as n_exact,
        count(*) filter (where src.exact or src.coverage >= cfg.soft_min_coverage) as n_soft_met,
        list(
            {
                'type': src.entity_type,
                'value': src.value,
                'kg_value': null,
                'how': case when src.exact then 'exact' else 'text ' || round(src.coverage, 2) end
            }
            order by src.position
        ) as matched
    from source as src
    cross join search_settings as cfg
    group by src.qid, src.title_id
)

select * from final
