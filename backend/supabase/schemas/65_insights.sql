-- Owner insights: RFM segments (scored once a café-day), churn risk, KPIs, time series and the
-- members export. They read the cached aggregates on kanta.members (visits, spend, first and last
-- visit), a daily sales rollup kept with each purchase and refund, or purchases by
-- (business_id, created_at). Periods are whole days on the café's calendar, [day of p_from, day
-- of p_to), in every figure. Arithmetic on time spans uses date_part (float8): extract() returns
-- numeric, slow over a shop.

-- =============================================================================================
-- Section - Indexes the insights rely on
-- =============================================================================================
create index if not exists members_business_last_visit_idx on kanta.members (business_id, last_visit_at);

create index if not exists members_business_joined_idx on kanta.members (business_id, joined_at);

create index if not exists vouchers_business_issued_idx on kanta.vouchers (business_id, issued_at);

create index if not exists referrals_business_created_idx on kanta.referrals (business_id, created_at);

-- Volatile: the first look of the day may write the day's scores.
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

-- =============================================================================================
-- Section - Churn risk
-- The rule is kanta.is_at_risk (60_inbox.sql): at least 3 visits and away more than k
-- times the member's own typical gap. The reason is given as numbers; the app words it.
-- =============================================================================================
create or replace function public.churn_risk(p_business_id uuid, p_k numeric default 2, p_limit integer default 50)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := kanta.now();
begin
  perform kanta.require_staff(p_business_id, 'owner');
  if p_k is null or p_k not between 1 and 10 then
    perform kanta.fail('invalid_churn_factor');
  end if;
  if p_limit is null or p_limit not between 1 and 500 then
    perform kanta.fail('invalid_page_size');
  end if;
  return (
    with risky as (
      select mb.id, mb.member_number, mb.display_name, mb.visits, mb.spend_cents, mb.last_visit_at,
             round(extract(epoch from mb.last_visit_at - mb.first_visit_at) / 86400 / (mb.visits - 1), 1) as gap_days,
             -- Calendar days on the café's calendar ("100 days ago" across a DST change).
             (v_now at time zone b.timezone)::date - (mb.last_visit_at at time zone b.timezone)::date as days_away
      from kanta.members mb
      join kanta.businesses b on b.id = mb.business_id
      where mb.business_id = p_business_id and mb.visits >= 3 and mb.user_id is not null
        and kanta.is_at_risk(mb.visits, mb.first_visit_at, mb.last_visit_at, v_now, p_k)
    )
    select jsonb_build_object(
      'total', (select count(*) from risky),
      'k', p_k,
      'members', coalesce((
        select jsonb_agg(jsonb_build_object(
                 'member_id', r.id, 'member_number', r.member_number, 'display_name', r.display_name,
                 'visits', r.visits, 'spend_cents', r.spend_cents, 'last_visit_at', r.last_visit_at,
                 'typical_gap_days', r.gap_days, 'days_away', r.days_away,
                 'win_back_sent', exists (select 1 from kanta.messages x where x.member_id = r.id
                                          and x.kind = 'win_back' and x.created_at > v_now - interval '60 days'))
               order by r.spend_cents desc, r.id)
        from (select * from risky order by spend_cents desc, id limit p_limit) r
      ), '[]'::jsonb))
  );
end
$$;
revoke execute on function public.churn_risk(uuid, numeric, integer) from public, anon;
grant execute on function public.churn_risk(uuid, numeric, integer) to authenticated, service_role;

-- =============================================================================================
-- Section - Daily sales
-- One row per café, day and shard: a single row per day, updated by every purchase, would hold
-- its lock until the purchase commits, so a busy café's purchases would run one at a time. Each
-- writing session adds to its own of 8 shards (pg_backend_pid() % 8), and readers sum them.
-- =============================================================================================
create table if not exists kanta.daily_sales (
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  day date not null,
  purchases integer not null default 0,
  member_purchases integer not null default 0,
  revenue_cents bigint not null default 0,
  member_revenue_cents bigint not null default 0,
  shard smallint not null default 0,
  constraint daily_sales_pkey primary key (business_id, day, shard)
);

alter table kanta.daily_sales enable row level security;

revoke all on kanta.daily_sales from anon, authenticated, public;

create or replace function kanta.roll_up_sale()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_sign integer := case when tg_op = 'INSERT' then 1 else -1 end;
  v_day date;
begin
  -- A refund takes the sale back out of the day it was made (in its own session's shard).
  if tg_op = 'UPDATE' and not (old.refunded_at is null and new.refunded_at is not null) then
    return new;
  end if;
  select (new.created_at at time zone b.timezone)::date into v_day from kanta.businesses b where b.id = new.business_id;
  insert into kanta.daily_sales as d (business_id, day, shard, purchases, member_purchases, revenue_cents,
                                      member_revenue_cents)
  values (new.business_id, v_day, pg_backend_pid() % 8, v_sign, v_sign * (new.member_id is not null)::int,
          v_sign * new.amount_cents, case when new.member_id is not null then v_sign * new.amount_cents else 0 end)
  on conflict (business_id, day, shard) do update set
    purchases = d.purchases + excluded.purchases,
    member_purchases = d.member_purchases + excluded.member_purchases,
    revenue_cents = d.revenue_cents + excluded.revenue_cents,
    member_revenue_cents = d.member_revenue_cents + excluded.member_revenue_cents;
  return new;
end
$$;

create trigger purchases_roll_up after insert or update of refunded_at on kanta.purchases
  for each row execute function kanta.roll_up_sale();

-- Periods are whole days on the café's calendar: [day of p_from, day of p_to).
create or replace function kanta.sales_days(p_business_id uuid, p_from timestamptz, p_to timestamptz)
returns setof kanta.daily_sales
language sql
stable
security definer
set search_path = ''
as $$
  select d.*
  from kanta.daily_sales d
  join kanta.businesses b on b.id = d.business_id
  where d.business_id = p_business_id
    and d.day >= (p_from at time zone b.timezone)::date
    and d.day < (p_to at time zone b.timezone)::date
$$;

-- =============================================================================================
-- Section - KPIs
-- =============================================================================================
create or replace function public.business_kpis(p_business_id uuid, p_from timestamptz, p_to timestamptz)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := kanta.now();
  v_tz text;
  v_start timestamptz;
  v_end timestamptz;
  v_sales jsonb;
  v_buyers jsonb;
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

  -- The period's member purchases, per tier held when buying. A member's first purchase of the
  -- period is the one whose previous purchase is before it; their second, the one whose previous
  -- is inside and the one before that is not.
  with by_tier as (
    select coalesce(p.tier, 'none') as tier, count(*) as visits, sum(p.amount_cents) as spend,
           count(*) filter (where p.prev_at is null or p.prev_at < v_start) as buying,
           count(*) filter (where p.prev_at >= v_start and (p.prev2_at is null or p.prev2_at < v_start)) as repeaters
    from kanta.purchases p
    where p.business_id = p_business_id and p.refunded_at is null and p.member_id is not null
      and p.created_at >= v_start and p.created_at < v_end
    group by 1
  )
  select jsonb_build_object(
           'buying_members', coalesce(sum(b.buying), 0),
           'repeat_rate', round(sum(b.repeaters) / nullif(sum(b.buying), 0), 4),
           'visits_per_member', round(sum(b.visits) / nullif(sum(b.buying), 0), 2),
           -- The average purchase (one visit's spend) by the tier the member held when buying, in
           -- the program's tier order (a tier since renamed or removed, and 'none', come last).
           'spend_by_tier', coalesce(jsonb_agg(jsonb_build_object('tier', b.tier, 'purchases', b.visits,
                                                                  'average_cents', round(b.spend::numeric / b.visits))
                                               order by o.n nulls last, b.tier), '[]'::jsonb))
  into v_buyers
  from by_tier b
  left join (
    select e ->> 'name' as name, x.n
    from kanta.programs pr, jsonb_array_elements(pr.tiers) with ordinality as x(e, n)
    where pr.business_id = p_business_id
  ) o on o.name = b.tier;

  select jsonb_build_object(
           'members', count(*) filter (where joined_at <= v_now),
           'active_30', count(*) filter (where last_visit_at > v_now - interval '30 days'),
           'active_90', count(*) filter (where last_visit_at > v_now - interval '90 days'),
           'new_members', count(*) filter (where joined_at >= v_start and joined_at < v_end))
  into v_members
  from kanta.members
  where business_id = p_business_id;

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

  return jsonb_build_object('from', p_from, 'to', p_to) || v_sales || v_buyers || v_members || v_rest;
end
$$;
revoke execute on function public.business_kpis(uuid, timestamptz, timestamptz) from public, anon;
grant execute on function public.business_kpis(uuid, timestamptz, timestamptz) to authenticated, service_role;

-- Buckets of a metric on the café's calendar, for charts.
create or replace function public.kpi_timeseries(p_business_id uuid, p_metric text, p_bucket text,
                                                 p_from timestamptz, p_to timestamptz)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_tz text;
begin
  perform kanta.require_staff(p_business_id, 'owner');
  if p_bucket is null or p_bucket not in ('day', 'week', 'month') then
    perform kanta.fail('invalid_bucket');
  end if;
  if p_metric is null or p_metric not in ('revenue', 'member_revenue_share', 'visits', 'new_members',
                                          'redemptions', 'nps') then
    perform kanta.fail('invalid_metric');
  end if;
  if p_from is null or p_to is null or p_from >= p_to or p_to - p_from > interval '3 years' then
    perform kanta.fail('invalid_period');
  end if;
  select timezone into v_tz from kanta.businesses where id = p_business_id;
  return jsonb_build_object('metric', p_metric, 'bucket', p_bucket, 'points', coalesce((
    select jsonb_agg(jsonb_build_object('bucket', b, 'value', v) order by b)
    from (
      select date_trunc(p_bucket, d.day)::date as b,
             case p_metric
               when 'revenue' then sum(d.revenue_cents)::numeric
               when 'visits' then sum(d.member_purchases)::numeric
               else round(sum(d.member_revenue_cents)::numeric / nullif(sum(d.revenue_cents), 0), 4)
             end as v
      from kanta.sales_days(p_business_id, p_from, p_to) d
      where p_metric in ('revenue', 'visits', 'member_revenue_share')
      group by 1
      having sum(d.purchases) > 0
      union all
      select (date_trunc(p_bucket, mb.joined_at at time zone v_tz))::date, count(*)::numeric
      from kanta.members mb
      where p_metric = 'new_members' and mb.business_id = p_business_id
        and mb.joined_at >= p_from and mb.joined_at < p_to
      group by 1
      union all
      select (date_trunc(p_bucket, v.redeemed_at at time zone v_tz))::date, count(*)::numeric
      from kanta.vouchers v
      where p_metric = 'redemptions' and v.business_id = p_business_id and v.status = 'redeemed'
        and v.redeemed_at >= p_from and v.redeemed_at < p_to
      group by 1
      union all
      select (date_trunc(p_bucket, f.created_at at time zone v_tz))::date,
             round(100.0 * (count(*) filter (where f.score >= 9) - count(*) filter (where f.score <= 6)) / count(*))
      from kanta.feedback f
      where p_metric = 'nps' and f.business_id = p_business_id and f.created_at >= p_from and f.created_at < p_to
      group by 1
    ) series (b, v)
  ), '[]'::jsonb));
end
$$;
revoke execute on function public.kpi_timeseries(uuid, text, text, timestamptz, timestamptz) from public, anon;
grant execute on function public.kpi_timeseries(uuid, text, text, timestamptz, timestamptz) to authenticated, service_role;

-- =============================================================================================
-- Section - Export
-- =============================================================================================
-- The member fields the owner may see, as CSV text (a header row, then one row per member).
create or replace function public.export_members(p_business_id uuid)
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform kanta.require_staff(p_business_id, 'owner');
  return kanta.members_csv(p_business_id, kanta.now(), false);
end
$$;
revoke execute on function public.export_members(uuid) from public, anon;
grant execute on function public.export_members(uuid) to authenticated, service_role;

-- The export_members layout, by member number, of the members with an account; p_marketing_only
-- keeps those who consented and have an e-mail (export_marketing's csv format, 70_integrations.sql).
create or replace function kanta.members_csv(p_business_id uuid, p_at timestamptz, p_marketing_only boolean)
returns text
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select 'member_number,display_name,email,joined_at,visits,spend_cents,points,stamps,tier,segment,'
           || 'last_visit_at,marketing_consent' || chr(10)
           || coalesce(string_agg(concat_ws(',',
                kanta.csv(mb.member_number), kanta.csv(mb.display_name), kanta.csv(u.email),
                kanta.csv(to_char(mb.joined_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
                mb.visits, mb.spend_cents, mb.points, mb.stamps, kanta.csv(kanta.member_tier(mb.id, p_at) ->> 'name'),
                kanta.csv(s.segment),
                kanta.csv(to_char(mb.last_visit_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
                -- export_members writes Postgres' t/f; export_marketing's csv has always written true.
                case when p_marketing_only then 'true' when mb.marketing_consent then 't' else 'f' end),
              chr(10) order by mb.member_number) || chr(10), '')
    from kanta.members mb
    left join auth.users u on u.id = mb.user_id
    left join kanta.rfm(p_business_id, p_at) s on s.member_id = mb.id
    where mb.business_id = p_business_id and mb.user_id is not null
      and (not p_marketing_only or (mb.marketing_consent and u.email is not null))
  );
end
$$;

-- One CSV field: quoted when it holds a comma, semicolon, quote or line break (so one helper serves
-- comma and semicolon files); a leading =, +, - or @ is prefixed with ' so a spreadsheet does not
-- run it as a formula.
create or replace function kanta.csv(p_value text)
returns text
language sql
immutable
set search_path = ''
as $$
  select case
    when p_value is null then ''
    else (select case when v ~ '[",;\r\n]' then '"' || replace(v, '"', '""') || '"' else v end
          from (select case when p_value ~ '^[=+\-@]' then '''' || p_value else p_value end as v) x)
  end
$$;

-- =============================================================================================
-- Section - RFM
-- Plain SQL without SECURITY DEFINER or SET, so the callers' queries inline it (no result set
-- copied through a tuplestore). Every name in it is qualified; only owner-run functions call it.
-- It compares against scalar cuts, scoring each member once (array subscripts in the segment
-- rules were evaluated again for each rule).
-- =============================================================================================
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

-- =============================================================================================
-- Section - KPIs
-- =============================================================================================
-- A period's member purchases with their links, amounts and tiers, read from the index alone.
create index if not exists purchases_kpi_idx on kanta.purchases (business_id, created_at)
  include (amount_cents, prev_at, prev2_at, tier) where refunded_at is null and member_id is not null;
