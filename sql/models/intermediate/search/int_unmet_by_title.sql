-- Per request and title: the wishes (hard and soft constraints the user asks for, not the ones they rule
-- out) that the title does NOT meet, in query order, as results show them (`unmet`), with the same
-- besides years (similar_to: there a year only picks the named title), and `relax_key`: the
-- relaxation rank of each unmet constraint's pool (search/config.yml constraints.relax, 1 = relaxed
-- first), highest first. Ordering titles by relax_key (lists compare element by element) ranks a title
-- missing only early-relaxed constraints ("tense", a mood) above one missing a later one (the year),
-- whatever their number. A title meeting every wish has no row; only titles a ranking can list are
-- looked at (ones meeting or sharing a word with some constraint, or named; every title for
-- similar_to, which ranks titles by shared facts). A hard wish is met as in int_constraint_matches.sql, a
-- soft one verbatim or by soft_min_coverage of its words. Reads int_request_constraints, relax_order,
-- stg_request_routes, int_constraint_matches, int_soft_scores, int_named_titles, kg_titles, search_settings.
with wishes as (
    select
        rc.qid,
        rc.position,
        rc.entity_type,
        rc.value,
        rc.pool,
        ro.relax_rank
    from int_request_constraints as rc
    inner join relax_order as ro on rc.pool = ro.pool
    where rc.kind in ('hard', 'soft') and not rc.is_excluded
),

met as (
    select
        cm.qid,
        cm.position,
        cm.title_id
    from int_constraint_matches as cm
    where cm.kind = 'hard' and cm.similarity > 0 and not cm.is_excluded
    union
    select
        ss.qid,
        ss.position,
        ss.title_id
    from int_soft_scores as ss
    cross join search_settings as cfg
    where not ss.is_excluded and (ss.exact or ss.coverage >= cfg.soft_min_coverage)
),

candidates as (
    select
        cm.qid,
        cm.title_id
    from int_constraint_matches as cm
    where cm.kind = 'hard' and cm.similarity > 0
    union
    select
        ss.qid,
        ss.title_id
    from int_soft_scores as ss
    union
    select
        nt.qid,
        nt.title_id
    from int_named_titles as nt
    union
    select
        rr.qid,
        t.title_id
    from stg_request_routes as rr
    cross join kg_titles as t
    where rr.route = 'similar'
),

missing as (
    select
        w.qid,
        w.position,
        w.entity_type,
        w.value,
        w.pool,
        w.relax_rank,
        c.title_id
    from wishes as w
    inner join candidates as c on w.qid = c.qid
    where not exists (
        select 1
        from met as m
        where m.qid = w.qid and m.position = w.position and m.title_id = c.title_id
    )
),

final as (
    select
        m.qid,
        m.title_id,
        list({ 'type': m.entity_type, 'value': m.value } order by m.position) as unmet,
        coalesce(
            list({ 'type': m.entity_type, 'value': m.value } order by m.position)
            filter (where m.pool != 'year'),
            []
        ) as unmet_besides_year,
        list(m.relax_rank order by m.relax_rank desc) as relax_key
    from missing as m
    group by m.qid, m.title_id
)

select * from final
