-- safe_div(numerator, denominator): the ratio, or 0.0 when the denominator is 0 (sklearn's
-- zero_division=0). Precision, recall and weighted averages all use it.
create or replace macro safe_div(numerator, denominator) as
case when denominator > 0 then numerator / denominator else 0.0 end;
