-- Titles each request rules out: every title that meets a constraint the user excludes ("not a horror
-- movie", "without Tom Cruise", "nothing from the 90s"), matched as a wish would be: a hard value by
-- name (staging/hard_matches.sql: exact, words, typo, another person role), a year by its span, a soft
-- value when the title carries it verbatim or at least soft_min_coverage of its words
-- (staging/soft_scores.sql) or names one of the title's values of its pool as a hard value would
-- (name_match: 'scary' rules out a title whose mood is 'scray'), and a title by its exact folded
-- name. Every ranking removes these titles: an exclusion is a hard filter, never relaxed. `violated`
-- lists what each title meets of the excluded constraints, in query order. Reads hard_matches,
-- soft_scores, named_titles, request_constraints, kg_values, kg_facts, search_settings.
with hard as (
    select
        hm.qid,
        hm.position,
        hm.title_id,
        hm.entity_type,
        hm.value
    from hard_matches as hm
    where hm.is_excluded
),

soft as (
    select
        ss.qid,
        ss.position,
        ss.title_id,
        ss.entity_type,
        ss.value
    from soft_scores as ss
    cross join search_settings as cfg
    where ss.is_excluded and (ss.exact or ss.coverage >= cfg.soft_min_coverage)
),

soft_named as (
    select distinct
        rc.qid,
        rc.position,
        f.title_id,
        rc.entity_type,
        rc.value
    from request_constraints as rc
    cross join search_settings as cfg
    inner join kg_values as v on rc.pool = v.pool
    inner join kg_facts as f on v.pool = f.pool and v.value = f.value
    where
        rc.is_excluded
        and rc.kind = 'soft'
        and name_match(rc.value_key, v.value_key, cfg.chars_per_edit, cfg.max_edits) > 0
),

titles as (
    select
        nt.qid,
        nt.position,
        nt.title_id,
        'title' as entity_type,
        nt.value
    from named_titles as nt
    where nt.is_excluded and nt.similarity = 1
),

final as (
    select
        v.qid,
        v.title_id,
        list({ 'type': v.entity_type, 'value': v.value } order by v.position) as violated
    from (
        select * from hard
        union
        select * from soft
        union
        select * from soft_named
        union all
        select * from titles
    ) as v
    group by v.qid, v.title_id
)

select * from final
