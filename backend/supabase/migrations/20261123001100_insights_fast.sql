-- Owner insights at 100k members: the same answers, computed with less work.
--   * Member segments are scored once a café-day into kanta.member_scores (by the nightly
--     run_automations, or by the owner's first look that day) and read from there.
--   * kanta.is_at_risk loses its SET clause, so Postgres inlines it (a function with SET is
--     called once per row: 70k calls cost churn_risk 230 ms).
--   * kanta.rfm compares against scalar cuts, scored once per member (array subscripts in the
--     segment rules were evaluated again for each rule).
--   * business_kpis reads revenue from the daily rollup, counts members in one pass, and
--     aggregates each buying member's purchases from a covering index (index-only scan).
-- Periods are whole days on the café's calendar, [day of p_from, day of p_to), in every figure.

-- =============================================================================================
-- Section - Inlinable rules
-- =============================================================================================
-- Only pg_catalog functions inside: no search_path needed, and without SET it is inlined.
create or replace function kanta.is_at_risk(p_visits integer, p_first timestamptz, p_last timestamptz,
                                            p_at timestamptz, p_k numeric default 2)
returns boolean
language sql
immutable
as $$
  select p_visits >= 3 and p_last < p_at
     and date_part('epoch', p_at - p_last)
         > p_k::float8 * greatest(date_part('epoch', p_last - p_first) / (p_visits - 1), 86400)
$$;

-- =============================================================================================
-- Section - RFM (the rules are the insights migration's, unchanged)
-- =============================================================================================
-- Plain SQL without SECURITY DEFINER or SET, so the callers' queries inline it (no result set
-- copied through a tuplestore). Every name in it is qualified; only owner-run functions call it.
drop function kanta.rfm(uuid, timestamptz);
create function kanta.rfm(p_business_id uuid, p_at timestamptz)
returns table (member_id uuid, r integer, f integer, m integer, segment text)
language sql
stable
as $$
  with base as (
    select mb.id, mb.visits::float8 as visits, mb.spend_cents::float8 as spend, mb.joined_at,
           coalesce(date_part('epoch', p_at - mb.last_visit_at) / 86400, 100000) as days
    from kanta.members mb
    where mb.business_id = p_business_id and mb.joined_at <= p_at
  ),
  q as (
    select percentile_cont(array[0.2, 0.4, 0.6, 0.8]) within group (order by days) as d,
           percentile_cont(array[0.2, 0.4, 0.6, 0.8]) within group (order by visits) as v,
           percentile_cont(array[0.2, 0.4, 0.6, 0.8]) within group (order by spend) as s
    from base
  ),
  cuts as (
    select d[1] as d1, d[2] as d2, d[3] as d3, d[4] as d4, v[1] as v1, v[2] as v2, v[3] as v3, v[4] as v4,
           s[1] as s1, s[2] as s2, s[3] as s3, s[4] as s4
    from q
  ),
  scored as (
    select b.id, b.visits, b.joined_at, b.days,
           5 - ((b.days > c.d1)::int + (b.days > c.d2)::int + (b.days > c.d3)::int + (b.days > c.d4)::int) as r,
           1 + ((b.visits > c.v1)::int + (b.visits > c.v2)::int + (b.visits > c.v3)::int + (b.visits > c.v4)::int) as f,
           1 + ((b.spend > c.s1)::int + (b.spend > c.s2)::int + (b.spend > c.s3)::int + (b.spend > c.s4)::int) as m
    from base b cross join cuts c
    offset 0  -- score each member once; the rules below read r, f and m many times
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

-- =============================================================================================
-- Section - KPIs
-- =============================================================================================
-- Each member's sales of a period, read from the index alone.
create index if not exists purchases_member_sales_idx on kanta.purchases (business_id, created_at)
  include (member_id, amount_cents) where refunded_at is null and member_id is not null;

create or replace function public.business_kpis(p_business_id uuid, p_from timestamptz, p_to timestamptz)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
set work_mem = '64MB'  -- one hash entry per buying member stays in memory
as $$
declare
  v_now timestamptz := kanta.now();
  v_tz text;
  v_start timestamptz;
  v_end timestamptz;
  v_sales jsonb;
  v_members jsonb;
  v_rest jsonb;
begin
  perform kanta.require_staff(p_business_id, 'owner');
  if p_from is null or p_to is null or p_from >= p_to then
    perform kanta.fail('invalid_period');
  end if;
  select timezone into v_tz from kanta.businesses where id = p_business_id;
  v_start := date_trunc('day', p_from at time zone v_tz) at time zone v_tz;
  v_end := date_trunc('day', p_to at time zone v_tz) at time zone v_tz;

  select jsonb_build_object(
           'revenue_cents', coalesce(sum(d.revenue_cents), 0),
           'member_revenue_cents', coalesce(sum(d.member_revenue_cents), 0),
           'member_revenue_share', round(sum(d.member_revenue_cents)::numeric / nullif(sum(d.revenue_cents), 0), 4))
  into v_sales
  from kanta.sales_days(p_business_id, p_from, p_to) d;

  -- One pass over the members, joined to each buying member's period totals: the overall row and
  -- one row per tier (for the average spend by tier) come from the same grouping.
  with per_member as (
    select p.member_id, count(*) as n, sum(p.amount_cents) as spend
    from kanta.purchases p
    where p.business_id = p_business_id and p.refunded_at is null and p.member_id is not null
      and p.created_at >= v_start and p.created_at < v_end
    group by p.member_id
  ),
  grouped as (
    select grouping(coalesce(mb.tier, 'none')) = 0 as by_tier, coalesce(mb.tier, 'none') as tier,
           count(*) filter (where mb.joined_at <= v_now) as members,
           count(*) filter (where mb.last_visit_at > v_now - interval '30 days') as active_30,
           count(*) filter (where mb.last_visit_at > v_now - interval '90 days') as active_90,
           count(*) filter (where mb.joined_at >= v_start and mb.joined_at < v_end) as new_members,
           count(pm.n) as buying, count(*) filter (where pm.n >= 2) as repeaters, sum(pm.n) as visits,
           round(avg(pm.spend)) as avg_spend
    from kanta.members mb
    left join per_member pm on pm.member_id = mb.id
    where mb.business_id = p_business_id
    group by grouping sets ((), (coalesce(mb.tier, 'none')))
  )
  select jsonb_build_object(
           'members', g.members, 'active_30', g.active_30, 'active_90', g.active_90, 'new_members', g.new_members,
           'buying_members', g.buying,
           'repeat_rate', round(g.repeaters::numeric / nullif(g.buying, 0), 4),
           'visits_per_member', round(g.visits::numeric / nullif(g.buying, 0), 2),
           -- Average spend in the period per buying member, by the tier cached on the member row.
           'average_spend_by_tier', coalesce((select jsonb_object_agg(t.tier, t.avg_spend) from grouped t
                                              where t.by_tier and t.avg_spend is not null), '{}'::jsonb))
  into v_members
  from grouped g
  where not g.by_tier;

  select jsonb_build_object('vouchers_issued', count(*), 'vouchers_redeemed', count(*) filter (where status = 'redeemed'),
                            'redemption_rate', round(count(*) filter (where status = 'redeemed')::numeric
                                                     / nullif(count(*), 0), 4))
  into v_rest
  from kanta.vouchers
  where business_id = p_business_id and issued_at >= v_start and issued_at < v_end;

  select v_rest || jsonb_build_object(
    'referrals', (select count(*) from kanta.referrals where business_id = p_business_id
                  and created_at >= v_start and created_at < v_end),
    'referral_conversion', (select round(count(*) filter (where status = 'rewarded')::numeric / nullif(count(*), 0), 4)
                            from kanta.referrals where business_id = p_business_id
                            and created_at >= v_start and created_at < v_end),
    'nps', (select round(100.0 * (count(*) filter (where score >= 9) - count(*) filter (where score <= 6))
                         / nullif(count(*), 0))
            from kanta.feedback where business_id = p_business_id and created_at >= v_start and created_at < v_end),
    'feedback_responses', (select count(*) from kanta.feedback where business_id = p_business_id
                           and created_at >= v_start and created_at < v_end)
  ) into v_rest;

  return jsonb_build_object('from', p_from, 'to', p_to) || v_sales || v_members || v_rest;
end
$$;
revoke execute on function public.business_kpis(uuid, timestamptz, timestamptz) from public, anon;
grant execute on function public.business_kpis(uuid, timestamptz, timestamptz) to authenticated, service_role;

-- =============================================================================================
-- Section - Member scores: RFM once a day
-- Scoring is a pass over every member against the shop's own quintiles (~150 ms at 100k
-- members). The segments an owner sees are as of the start of the café's day ("as_of").
-- =============================================================================================
create table if not exists kanta.member_scores (
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  member_id uuid not null,  -- no foreign key: rewritten whole each day, never a member's data
  r smallint not null,
  f smallint not null,
  m smallint not null,
  segment text not null,
  primary key (business_id, member_id)
);
create index if not exists member_scores_segment_idx on kanta.member_scores (business_id, segment);
alter table kanta.member_scores enable row level security;
revoke all on kanta.member_scores from anon, authenticated, public;

create table if not exists kanta.score_runs (
  business_id uuid primary key references kanta.businesses (id) on delete cascade,
  day date not null,           -- the café's calendar day the scores are for
  scored_at timestamptz not null
);
alter table kanta.score_runs enable row level security;
revoke all on kanta.score_runs from anon, authenticated, public;

-- Score the business as of p_at unless it is already scored for that café-day. Returns the time
-- the scores in use were computed.
create or replace function kanta.ensure_scores(p_business_id uuid, p_at timestamptz)
returns timestamptz
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_day date;
  v_run kanta.score_runs;
begin
  select (p_at at time zone b.timezone)::date into v_day from kanta.businesses b where b.id = p_business_id;
  -- One scorer at a time per business; a second caller waits, then finds the fresh run.
  perform pg_advisory_xact_lock(hashtext('kanta.scores:' || p_business_id));
  select * into v_run from kanta.score_runs where business_id = p_business_id;
  if v_run.day is not distinct from v_day then
    return v_run.scored_at;
  end if;
  delete from kanta.member_scores where business_id = p_business_id;
  insert into kanta.member_scores (business_id, member_id, r, f, m, segment)
  select p_business_id, s.member_id, s.r, s.f, s.m, s.segment from kanta.rfm(p_business_id, p_at) s;
  insert into kanta.score_runs as x (business_id, day, scored_at) values (p_business_id, v_day, p_at)
  on conflict (business_id) do update set day = excluded.day, scored_at = excluded.scored_at;
  return p_at;
end
$$;

-- Now volatile: the first look of the day may write the day's scores.
create or replace function public.member_segments(p_business_id uuid, p_segment text default null,
                                                  p_limit integer default 50, p_offset integer default 0)
returns jsonb
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_as_of timestamptz;
begin
  perform kanta.require_staff(p_business_id, 'owner');
  if p_segment is not null and p_segment not in ('champions', 'loyal', 'potential', 'new', 'at_risk', 'hibernating', 'lost') then
    perform kanta.fail('invalid_segment');
  end if;
  if p_limit is null or p_limit not between 1 and 500 or p_offset is null or p_offset < 0 then
    perform kanta.fail('invalid_page_size');
  end if;
  v_as_of := kanta.ensure_scores(p_business_id, kanta.now());
  return jsonb_build_object(
    'as_of', v_as_of,
    'counts', (select jsonb_object_agg(seg, coalesce(c.n, 0))
               from unnest(array['champions', 'loyal', 'potential', 'new', 'at_risk', 'hibernating', 'lost']) seg
               left join (select x.segment, count(*) as n from kanta.member_scores x
                          where x.business_id = p_business_id group by x.segment) c on c.segment = seg),
    'members', coalesce((
      select jsonb_agg(jsonb_build_object('member_id', page.id, 'member_number', page.member_number,
                                          'display_name', page.display_name, 'r', page.r, 'f', page.f, 'm', page.m,
                                          'visits', page.visits, 'spend_cents', page.spend_cents,
                                          'last_visit_at', page.last_visit_at) order by page.spend_cents desc, page.id)
      from (
        select mb.id, mb.member_number, mb.display_name, x.r, x.f, x.m, mb.visits, mb.spend_cents, mb.last_visit_at
        from kanta.member_scores x join kanta.members mb on mb.id = x.member_id
        where x.business_id = p_business_id and x.segment = p_segment
        order by mb.spend_cents desc, mb.id
        limit p_limit offset p_offset
      ) page
    ), '[]'::jsonb));
end
$$;
revoke execute on function public.member_segments(uuid, text, integer, integer) from public, anon;
grant execute on function public.member_segments(uuid, text, integer, integer) to authenticated, service_role;

-- The nightly run also scores every business for the new day.
alter function public.run_automations(timestamptz) set schema kanta;
revoke execute on function kanta.run_automations(timestamptz) from public, anon, authenticated, service_role;
create or replace function public.run_automations(p_now timestamptz default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_sent jsonb := kanta.run_automations(p_now);  -- only the service role is granted this wrapper
  v_now timestamptz := kanta.now();               -- pinned to p_now by the run above
begin
  perform kanta.ensure_scores(b.id, v_now) from kanta.businesses b;
  return v_sent;
end
$$;
revoke execute on function public.run_automations(timestamptz) from public, anon, authenticated;
grant execute on function public.run_automations(timestamptz) to service_role;

select kanta.grant_helpers();
