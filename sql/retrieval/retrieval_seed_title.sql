-- Seed-title queries (find_title, title_info, play, where_to_watch: measure 'seed_title' in
-- eval/retrieval.yml, by GOLD intent): where the title the query was generated from lands in each
-- input's ranked results. hit_at_1 / hit_at_10 = share of queries with the seed title at rank 1 /
-- within the first 10; mrr = mean of 1 / rank (0 when absent). A result is the seed title when its
-- folded name equals the seed's (records carry the seed's name, not its year: a remake and its
-- original both count). Only queries whose seed is a right answer to their gold extraction are
-- measured (int_seed_answers: not those whose title, people or plot came from an open pool);
-- n_left_out counts the others. One row per input and intent, plus '(all)' per input. Reads
-- int_measured_queries, int_seed_answers, results.
with source as (select * from results),

seed_ranks as (
    select
        mq.input,
        mq.intent,
        mq.sort_key,
        sa.seed_is_answer,
        min(src.rank) as seed_rank
    from int_measured_queries as mq
    inner join int_seed_answers as sa on mq.qid = sa.qid
    left join source as src
        on
            mq.input = src.input
            and mq.qid = src.qid
            and search_key(mq.seed_title) = search_key(src.title)
    where mq.measure = 'seed_title'
    group by mq.input, mq.qid, mq.intent, mq.sort_key, sa.seed_is_answer
),

-- a query left out keeps its row (so an intent whose queries are all left out is still listed)
-- with null hits, which count() and avg() skip
per_query as (
    select
        input,
        intent,
        sort_key,
        case when not seed_is_answer then null when seed_rank = 1 then 1.0 else 0.0 end as hit_1,
        case when not seed_is_answer then null when seed_rank <= 10 then 1.0 else 0.0 end as hit_10,
        case when seed_is_answer then coalesce(1.0 / seed_rank, 0.0) end as reciprocal_rank,
        case when seed_is_answer then 0 else 1 end as n_left_out
    from seed_ranks
),

with_all as (
    select * from per_query
    union all
    select
        input,
        '(all)' as intent,
        sort_key // 1000 * 1000 + 999 as sort_key,
        hit_1,
        hit_10,
        reciprocal_rank,
        n_left_out
    from per_query
),

final as (
    select
        input,
        intent,
        count(hit_1) as n_queries,
        avg(hit_1) as hit_at_1,
        avg(hit_10) as hit_at_10,
        avg(reciprocal_rank) as mrr,
        sum(n_left_out) as n_left_out
    from with_all
    group by input, intent, sort_key
    order by sort_key
)

select * from final
