-- section: values
-- The top_values() most frequent values of each entity type (values compared after
-- normalize_value, shown in their most common spelling), with their share of the type's mentions.
with source as (select * from entities),

normalized as (
    select
        src.type,
        src.value,
        normalize_value(src.value) as value_key
    from source as src
),

counts as (
    select
        nrm.type,
        nrm.value_key,
        mode(nrm.value) as value,
        count(*) as mentions
    from normalized as nrm
    group by nrm.type, nrm.value_key
),

ranked as (
    select
        cnt.type,
        cnt.value,
        cnt.mentions,
        cnt.mentions / sum(cnt.mentions) over (partition by cnt.type) as share,
        row_number() over (partition by cnt.type order by cnt.mentions desc, cnt.value_key asc) as value_rank
    from counts as cnt
),

final as (
    select
        rnk.type,
        rnk.value_rank,
        rnk.value,
        rnk.mentions,
        round(rnk.share, 4) as share
    from ranked as rnk
    where rnk.value_rank <= top_values()
    order by rnk.type, rnk.value_rank
)

select * from final
