-- section: values
-- Per entity type: mentions, distinct values (after normalize_value), the share of mentions taken
-- by the single most frequent value and by the top_values() most frequent, the long-tail share
-- (mentions outside the top_values()) and the share of values seen exactly once.
with source as (select * from entities),

counts as (
    select
        src.type,
        normalize_value(src.value) as value_key,
        count(*) as mentions
    from source as src
    group by src.type, normalize_value(src.value)
),

ranked as (
    select
        cnt.type,
        cnt.mentions,
        row_number() over (partition by cnt.type order by cnt.mentions desc, cnt.value_key asc) as value_rank
    from counts as cnt
),

per_type as (
    select
        rnk.type,
        sum(rnk.mentions) as mentions,
        count(*) as distinct_values,
        max(rnk.mentions) as top1_mentions,
        sum(rnk.mentions) filter (where rnk.value_rank <= top_values()) as top_mentions,
        count(*) filter (where rnk.mentions = 1) as singletons
    from ranked as rnk
    group by rnk.type
),

final as (
    select
        pty.type,
        pty.mentions,
        pty.distinct_values,
        round(pty.top1_mentions / pty.mentions, 4) as top1_share,
        round(pty.top_mentions / pty.mentions, 4) as top_share,
        round(1 - pty.top_mentions / pty.mentions, 4) as long_tail_share,
        round(pty.singletons / pty.distinct_values, 4) as singleton_value_share
    from per_type as pty
    order by pty.mentions desc, pty.type asc
)

select * from final
