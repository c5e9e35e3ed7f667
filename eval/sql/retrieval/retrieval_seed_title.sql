-- Seed-title queries (find_title, title_info, play, where_to_watch: `measured_intents` rows with
-- measure 'seed_title', by GOLD intent): where the title the query was generated from lands in each
-- input's ranked results. hit_at_1 / hit_at_10 = share of queries with the seed title at rank 1 /
-- within the first 10; mrr = mean of 1 / rank (0 when absent). A result is the seed title when its
-- folded name equals the seed's (records carry the seed's name, not its year: a remake and its
-- original both count). One row per input and intent, plus '(all)' per input. Reads results,
-- records, measured_intents, retrieval_inputs.
with source as (select * from results),

queries as (
    select
        rec.qid,
        rec.intent,
        mi.intent_order,
        search_key(rec.seed_title) as seed_key
    from records as rec
    inner join measured_intents as mi on rec.intent = mi.intent
    where mi.measure = 'seed_title' and rec.seed_title is not null
),

grid as (
    select
        ri.input,
        ri.input_order,
        q.qid,
        q.intent,
        q.intent_order,
        q.seed_key
    from retrieval_inputs as ri
    cross join queries as q
),

seed_ranks as (
    select
        g.input,
        g.input_order,
        g.qid,
        g.intent,
        g.intent_order,
        min(src.rank) as seed_rank
    from grid as g
    left join source as src
        on
            g.input = src.input
            and g.qid = src.qid
            and g.seed_key = search_key(src.title)
    group by g.input, g.input_order, g.qid, g.intent, g.intent_order
),

by_intent as (
    select
        input,
        input_order,
        intent,
        intent_order,
        count(*) as n_queries,
        avg(case when seed_rank = 1 then 1.0 else 0.0 end) as hit_at_1,
        avg(case when seed_rank <= 10 then 1.0 else 0.0 end) as hit_at_10,
        avg(coalesce(1.0 / seed_rank, 0.0)) as mrr
    from seed_ranks
    group by input, input_order, intent, intent_order
    union all
    select
        input,
        input_order,
        '(all)' as intent,
        1000 as intent_order,
        count(*) as n_queries,
        avg(case when seed_rank = 1 then 1.0 else 0.0 end) as hit_at_1,
        avg(case when seed_rank <= 10 then 1.0 else 0.0 end) as hit_at_10,
        avg(coalesce(1.0 / seed_rank, 0.0)) as mrr
    from seed_ranks
    group by input, input_order
),

final as (
    select
        input,
        intent,
        n_queries,
        hit_at_1,
        hit_at_10,
        mrr
    from by_intent
    order by input_order, intent_order
)

select * from final
