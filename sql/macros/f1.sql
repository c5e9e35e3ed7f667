-- f1(tp, fp, fn): 2 tp / (2 tp + fp + fn), the harmonic mean of precision and recall written on the
-- counts, 0.0 when all three are 0 (zero_division=0). Written out rather than via safe_div: a DuckDB
-- macro binds the functions it calls when it is created, and macros load in name order.
create or replace macro f1(tp, fp, fn) as
case when tp + fp + fn > 0 then 2 * tp / (2 * tp + fp + fn) else 0.0 end;
