-- Titles each request rules out: every title that meets a constraint the user excludes ("not a horror
-- movie", "without Tom Cruise", "nothing from the 90s"), matched as a wish would be: a hard value by
-- name (int_constraint_matches.sql: exact, words, typo, another person role), a year by its span, a soft
-- value when the title carries it verbatim or at least soft_min_coverage of its words
-- (int_soft_scores.sql) or names one of the title's values of its pool as a hard value would
-- (name_match: 'scary' rules out a title whose mood is 'scray'), and a title by its exact folded
-- name. Every ranking removes these titles: an exclusion is a hard filter, never relaxed. `violated`
-- lists what each title meets of the excluded constraints, in query order. Reads int_constraint_matches,
-- int_soft_scores, int_named_titles, search_settings.
with named as (
    select
        cm.qid,
        cm.position,
        cm.title_id,
        cm.entity_type,
        cm.value
    from int_constraint_matches as cm
    where cm.kind in ('hard', 'soft') and cm.similarity > 0 and cm.is_excluded
),

soft as (
    select
        ss.qid,
        ss.position,
        ss.title_id,
        ss.entity_type,
        ss.value
    from int_soft_scores as ss
    cross join search_settings as cfg
    where ss.is_excluded and (ss.exact or ss.coverage >= cfg.soft_min_coverage)
),

titles as (
    select
        nt.qid,
        nt.position,
        nt.title_id,
        'title' as entity_type,
        nt.value
    from int_named_titles as nt
    where nt.is_excluded and nt.similarity = 1
),

final as (
    select
        v.qid,
        v.title_id,
        list({ 'type': v.entity_type, 'value': v.value } order by v.position) as violated
    from (
        select * from named
        union
        select * from soft
        union all
        select * from titles
    ) as v
    group by v.qid, v.title_id
)

select * from final
