-- Since PG 14 `extract(epoch ...)` returns numeric, which is slow over a whole shop's members;
-- `date_part` returns float8. The rules are unchanged, only their arithmetic.

create or replace function kanta.is_at_risk(p_visits integer, p_first timestamptz, p_last timestamptz,
                                            p_at timestamptz, p_k numeric default 2)
returns boolean
language sql
immutable
set search_path = ''
as $$
  select p_visits >= 3 and p_last < p_at
     and date_part('epoch', p_at - p_last)
         > p_k::float8 * greatest(date_part('epoch', p_last - p_first) / (p_visits - 1), 86400)
$$;

create or replace function kanta.rfm(p_business_id uuid, p_at timestamptz)
returns table (member_id uuid, r integer, f integer, m integer, segment text)
language sql
stable
security definer
set search_path = ''
as $$
  with base as (
    select mb.id, mb.visits, mb.spend_cents::float8 as spend, mb.joined_at,
           coalesce(date_part('epoch', p_at - mb.last_visit_at) / 86400, 100000) as days
    from kanta.members mb
    where mb.business_id = p_business_id and mb.joined_at <= p_at
  ),
  cuts as (
    select percentile_cont(array[0.2, 0.4, 0.6, 0.8]) within group (order by days) as d,
           percentile_cont(array[0.2, 0.4, 0.6, 0.8]) within group (order by visits) as v,
           percentile_cont(array[0.2, 0.4, 0.6, 0.8]) within group (order by spend) as s
    from base
  ),
  scored as (
    select b.*,
           5 - ((b.days > c.d[1])::int + (b.days > c.d[2])::int + (b.days > c.d[3])::int + (b.days > c.d[4])::int) as r,
           1 + ((b.visits > c.v[1])::int + (b.visits > c.v[2])::int + (b.visits > c.v[3])::int
                + (b.visits > c.v[4])::int) as f,
           1 + ((b.spend > c.s[1])::int + (b.spend > c.s[2])::int + (b.spend > c.s[3])::int + (b.spend > c.s[4])::int) as m
    from base b cross join cuts c
  )
  select id, r, f, m,
         case
           when joined_at > p_at - interval '30 days' and visits <= 1 then 'new'
           when r >= 4 and f >= 4 and m >= 4 then 'champions'
           when f >= 4 and r >= 3 then 'loyal'
           when r >= 4 then 'potential'
           when r <= 2 and f >= 3 then 'at_risk'
           when r <= 2 and days <= 180 then 'hibernating'
           when days > 180 then 'lost'
           else 'potential'
         end
  from scored
$$;

revoke execute on all functions in schema kanta from public, anon, authenticated;
grant execute on function kanta.is_staff(uuid, text) to authenticated;
grant execute on function kanta.can_listen(text) to authenticated;
grant execute on function kanta.can_see_member(uuid) to authenticated;
