-- Test and heldout queries against train: the train query equal to each after trimming
-- (exact_train_query) and after normalize_value (normalized_train_query: case, punctuation,
-- whitespace, a leading article), NULL when none; and per split the share of its records that have
-- one (exact_share, normalized_share). Read by check_leakage_exact_query.sql and
-- check_leakage_normalized_query.sql.
create or replace view int_query_leakage as

with source as (
    select *
    from records
    where split in ('test', 'heldout')
),

train_exact as (
    select distinct trim(trn.query) as query_key
    from train as trn
),

train_normalized as (
    select
        normalize_value(trn.query) as query_key,
        min(trn.query) as train_query
    from train as trn
    group by normalize_value(trn.query)
),

matched as (
    select
        src.split,
        src.id,
        src.query,
        trn.train_query as normalized_train_query,
        case when tex.query_key is not null then trim(src.query) end as exact_train_query
    from source as src
    left join train_exact as tex on trim(src.query) = tex.query_key
    left join train_normalized as trn on normalize_value(src.query) = trn.query_key
),

final as (
    select
        split,
        id,
        query,
        exact_train_query,
        normalized_train_query,
        avg((exact_train_query is not null)::integer) over (partition by split) as exact_share,
        avg((normalized_train_query is not null)::integer) over (partition by split) as normalized_share
    from matched
)

select * from final;
