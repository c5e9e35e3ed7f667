-- Leaderboard: one row per run and system, the headline metrics of each split side by side, best first.
-- Reads `metrics`: one row per runs/**/eval/<system>/<split>/metrics.json, as eval/compare.py builds it:
--   create table metrics as select * from read_json('runs/**/eval/*/*/metrics.json', columns = {
--       meta: 'json', intent: 'json', entities: 'json', exact_match: 'double', n_queries: 'bigint'});
-- Run facts (recipe, base model, lora_r, data manifest hash) come from the `meta` block eval/__main__.py
-- copies from the run card; the non-LLM baseline shows its own model name as base_model. Per split:
-- intent macro-F1, entity macro-F1, exact match and the number of queries scored (a CPU-default
-- subset shows as fewer than the split holds). Rows are ranked by exact match averaged over the
-- splits the run was scored on: compare runs scored on the same splits.
with source as (select * from metrics),

scores as (
    select
        exact_match,
        n_queries,
        meta ->> 'run_dir' as run,
        meta ->> 'system' as system,
        meta ->> 'split' as split,
        meta ->> 'recipe' as recipe,
        coalesce(meta ->> 'base_model', meta ->> 'model') as base_model,
        meta ->> 'data_manifest' as data_manifest,
        (meta ->> 'lora_r')::integer as lora_r,
        (intent -> 'macro_avg' ->> 'f1')::double as intent_macro_f1,
        (entities -> 'macro_avg' ->> 'f1')::double as entity_macro_f1
    from source
),

-- one column per (split, metric), e.g. test_intent_f1, heldout_exact_match (sqlfluff has no indent
-- rule for DuckDB's simplified pivot yet, hence the noqa)
per_split as (
    pivot scores
    on split
    using
        first(intent_macro_f1) as intent_f1,  -- noqa: LT02
        first(entity_macro_f1) as entity_f1,  -- noqa: LT02
        first(exact_match) as exact_match,  -- noqa: LT02
        first(n_queries) as n  -- noqa: LT02
    group by run, system, recipe, base_model, lora_r, data_manifest
),

ranking as (
    select
        run,
        system,
        avg(exact_match) as mean_exact_match
    from scores
    group by run, system
),

final as (
    select
        p.*,
        r.mean_exact_match
    from per_split as p
    inner join ranking as r on p.run = r.run and p.system = r.system
    order by r.mean_exact_match desc nulls last, p.run asc, p.system asc
)

select * from final
