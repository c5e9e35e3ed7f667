-- Shares of queries: intent accuracy (sklearn's accuracy_score), exact match and schema-valid rate,
-- each with its count. With zero queries every rate is NULL: undefined, where sklearn raises.
-- Reads int_query_outcomes.
create or replace view int_query_rates as

with totals as (
    select
        count(*) as n_queries,
        count(*) filter (where is_correct) as n_correct,
        count(*) filter (where is_exact) as n_exact,
        count(*) filter (where is_valid) as n_valid
    from int_query_outcomes
),

final as (
    select
        n_queries,
        n_correct,
        n_exact,
        n_valid,
        n_correct / nullif(n_queries, 0) as accuracy,
        n_exact / nullif(n_queries, 0) as exact_match,
        n_valid / nullif(n_queries, 0) as schema_valid_rate
    from totals
)

select * from final;
