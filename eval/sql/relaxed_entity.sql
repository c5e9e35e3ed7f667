-- Relaxed entity scores, for long free-text spans (plot, setting, theme) where a near miss such as
-- 'a heist gone wrong' vs 'heist gone wrong badly' is still useful. The rule:
--   * entities are the per-query sets of (type, normalize_value(value)), as in per_class_entity.sql;
--   * tokens are the distinct space-separated words of the normalized value;
--   * a gold and a predicted entity of the SAME type in the same query match when their token F1,
--     2 * |shared tokens| / (|gold tokens| + |pred tokens|), is at least 0.5;
--   * matching is one-to-one, greedy by token F1: within a query and type, candidate pairs are taken
--     from the highest token F1 down (ties: gold value, then predicted value, alphabetically), each
--     unless its gold or its predicted entity is already matched. One long prediction overlapping two
--     gold spans ('loyalty and survival' vs 'loyalty', 'survival') matches one of them, not both;
--   * relaxed precision = matched pairs / predicted entities, relaxed recall = matched pairs / gold
--     entities (support), F1 = harmonic mean of the two.
-- An exact match has token F1 1, so each relaxed score is >= its strict counterpart.
-- Rows: one per taxonomy entity type in taxonomy order, then 'macro avg' (mean over the types with
-- support or predictions, as in averages_entity.sql), 'micro avg' (from the summed counts),
-- 'weighted avg' (weighted by support) and 'taxonomy macro avg' (mean over every type, absent as 0).
-- The 0.5 threshold is part of the metric's definition, kept fixed so numbers stay comparable.
-- Reads `predictions` and `labels`; needs macros/normalize.sql.
with recursive source as (select * from predictions),

taxonomy as (
    select
        lbl.label,
        lbl.label_order
    from labels as lbl
    where lbl.kind = 'entity'
),

entities as (
    select distinct
        src.id,
        src.source,
        src.field as entity_type,
        normalize_value(src.value) as entity_value
    from source as src
    where src.field != 'intent' and src.value is not null
),

tokenized as (
    select
        e.id,
        e.source,
        e.entity_type,
        e.entity_value,
        list_distinct(string_split(e.entity_value, ' ')) as tokens
    from entities as e
),

gold_entities as (
    select * from tokenized
    where source = 'gold'
),

pred_entities as (
    select * from tokenized
    where source = 'pred'
),

candidates as (
    select
        g.id,
        g.entity_type,
        g.entity_value as gold_value,
        p.entity_value as pred_value,
        2 * len(list_intersect(g.tokens, p.tokens)) / (len(g.tokens) + len(p.tokens)) as overlap
    from gold_entities as g
    inner join pred_entities as p on g.id = p.id and g.entity_type = p.entity_type
    where 2 * len(list_intersect(g.tokens, p.tokens)) / (len(g.tokens) + len(p.tokens)) >= 0.5
),

-- greedy one-to-one matching within each (query, type): candidate pairs in order of token F1 (ties
-- by gold then predicted value), each taken unless its gold or its predicted entity is already used
ranked as (
    select
        c.id,
        c.entity_type,
        c.gold_value,
        c.pred_value,
        row_number() over (
            partition by c.id, c.entity_type
            order by c.overlap desc, c.gold_value asc, c.pred_value asc
        ) as step
    from candidates as c
),

greedy (id, entity_type, step, gold_used, pred_used) as (
    select
        r.id,
        r.entity_type,
        r.step,
        [r.gold_value] as gold_used,
        [r.pred_value] as pred_used
    from ranked as r
    where r.step = 1
    union all
    select
        g.id,
        g.entity_type,
        r.step,
        case
            when list_contains(g.gold_used, r.gold_value) or list_contains(g.pred_used, r.pred_value)
                then g.gold_used
            else list_append(g.gold_used, r.gold_value)
        end as gold_used,
        case
            when list_contains(g.gold_used, r.gold_value) or list_contains(g.pred_used, r.pred_value)
                then g.pred_used
            else list_append(g.pred_used, r.pred_value)
        end as pred_used
    from greedy as g
    inner join ranked as r
        on g.id = r.id and g.entity_type = r.entity_type and r.step = g.step + 1
),

last_steps as (
    select
        r.id,
        r.entity_type,
        max(r.step) as last_step
    from ranked as r
    group by r.id, r.entity_type
),

matched_by_type as (
    select
        g.entity_type,
        sum(len(g.gold_used)) as n_matched
    from greedy as g
    inner join last_steps as ls
        on g.id = ls.id and g.entity_type = ls.entity_type and g.step = ls.last_step
    group by g.entity_type
),

gold_counts as (
    select
        g.entity_type,
        count(*) as support
    from gold_entities as g
    group by g.entity_type
),

pred_counts as (
    select
        p.entity_type,
        count(*) as n_predicted
    from pred_entities as p
    group by p.entity_type
),

counts as (
    select
        t.label,
        t.label_order,
        coalesce(g.support, 0) as support,
        coalesce(p.n_predicted, 0) as n_predicted,
        coalesce(m.n_matched, 0) as n_matched
    from taxonomy as t
    left join gold_counts as g on t.label = g.entity_type
    left join pred_counts as p on t.label = p.entity_type
    left join matched_by_type as m on t.label = m.entity_type
),

rates as (
    select
        label,
        label_order,
        support,
        n_predicted,
        n_matched,
        case when n_predicted > 0 then n_matched / n_predicted else 0.0 end as precision,
        case when support > 0 then n_matched / support else 0.0 end as recall
    from counts
),

per_class as (
    select
        label,
        label_order,
        support,
        n_predicted,
        n_matched,
        precision,
        recall,
        case when precision + recall > 0 then 2 * precision * recall / (precision + recall) else 0.0 end
            as f1
    from rates
),

totals as (
    select
        max(label_order) as last_order,
        sum(support) as support,
        sum(n_predicted) as n_predicted,
        sum(n_matched) as n_matched,
        count(*) as n_taxonomy,
        count(*) filter (where support + n_predicted > 0) as n_present,
        coalesce(list(label order by label_order) filter (where support + n_predicted = 0), [])
            as left_out,
        coalesce(avg(precision) filter (where support + n_predicted > 0), 0.0) as macro_precision,
        coalesce(avg(recall) filter (where support + n_predicted > 0), 0.0) as macro_recall,
        coalesce(avg(f1) filter (where support + n_predicted > 0), 0.0) as macro_f1,
        coalesce(avg(precision), 0.0) as taxonomy_macro_precision,
        coalesce(avg(recall), 0.0) as taxonomy_macro_recall,
        coalesce(avg(f1), 0.0) as taxonomy_macro_f1,
        sum(precision * support) as weighted_precision_sum,
        sum(recall * support) as weighted_recall_sum,
        sum(f1 * support) as weighted_f1_sum
    from per_class
),

micro as (
    select
        case when n_predicted > 0 then n_matched / n_predicted else 0.0 end as precision,
        case when support > 0 then n_matched / support else 0.0 end as recall
    from totals
),

report_rows as (
    select
        label,
        label_order,
        precision,
        recall,
        f1,
        support,
        n_predicted,
        n_matched,
        null::integer as n_classes,
        null::varchar[] as classes_left_out
    from per_class
    union all
    select
        'macro avg' as label,
        last_order + 1 as label_order,
        macro_precision as precision,
        macro_recall as recall,
        macro_f1 as f1,
        support,
        n_predicted,
        n_matched,
        n_present as n_classes,
        left_out as classes_left_out
    from totals
    union all
    select
        'micro avg' as label,
        totals.last_order + 2 as label_order,
        micro.precision,
        micro.recall,
        case
            when micro.precision + micro.recall > 0
                then 2 * micro.precision * micro.recall / (micro.precision + micro.recall)
            else 0.0
        end as f1,
        totals.support,
        totals.n_predicted,
        totals.n_matched,
        totals.n_taxonomy as n_classes,
        []::varchar[] as classes_left_out
    from totals
    cross join micro
    union all
    select
        'weighted avg' as label,
        last_order + 3 as label_order,
        case when support > 0 then weighted_precision_sum / support else 0.0 end as precision,
        case when support > 0 then weighted_recall_sum / support else 0.0 end as recall,
        case when support > 0 then weighted_f1_sum / support else 0.0 end as f1,
        support,
        n_predicted,
        n_matched,
        n_taxonomy as n_classes,
        []::varchar[] as classes_left_out
    from totals
    union all
    select
        'taxonomy macro avg' as label,
        last_order + 4 as label_order,
        taxonomy_macro_precision as precision,
        taxonomy_macro_recall as recall,
        taxonomy_macro_f1 as f1,
        support,
        n_predicted,
        n_matched,
        n_taxonomy as n_classes,
        []::varchar[] as classes_left_out
    from totals
),

final as (
    select
        label,
        precision,
        recall,
        f1,
        support,
        n_predicted,
        n_matched,
        n_classes,
        classes_left_out
    from report_rows
    order by label_order
)

select * from final
