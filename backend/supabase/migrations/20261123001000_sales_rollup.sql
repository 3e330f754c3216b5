-- A daily sales rollup per business (on the café's calendar), kept in the same transaction as
-- each purchase and refund, so charts and revenue KPIs read a few hundred rows instead of
-- hundreds of thousands of purchases.

-- =============================================================================================
-- Section - Daily sales
-- =============================================================================================
create table if not exists kanta.daily_sales (
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  day date not null,
  purchases integer not null default 0,
  member_purchases integer not null default 0,
  revenue_cents bigint not null default 0,
  member_revenue_cents bigint not null default 0,
  primary key (business_id, day)
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
  -- A refund takes the sale back out of the day it was made.
  if tg_op = 'UPDATE' and not (old.refunded_at is null and new.refunded_at is not null) then
    return new;
  end if;
  select (new.created_at at time zone b.timezone)::date into v_day from kanta.businesses b where b.id = new.business_id;
  insert into kanta.daily_sales as d (business_id, day, purchases, member_purchases, revenue_cents, member_revenue_cents)
  values (new.business_id, v_day, v_sign, v_sign * (new.member_id is not null)::int, v_sign * new.amount_cents,
          case when new.member_id is not null then v_sign * new.amount_cents else 0 end)
  on conflict (business_id, day) do update set
    purchases = d.purchases + excluded.purchases,
    member_purchases = d.member_purchases + excluded.member_purchases,
    revenue_cents = d.revenue_cents + excluded.revenue_cents,
    member_revenue_cents = d.member_revenue_cents + excluded.member_revenue_cents;
  return new;
end
$$;
drop trigger if exists purchases_roll_up on kanta.purchases;
create trigger purchases_roll_up after insert or update of refunded_at on kanta.purchases
  for each row execute function kanta.roll_up_sale();

-- The history so far.
insert into kanta.daily_sales (business_id, day, purchases, member_purchases, revenue_cents, member_revenue_cents)
select p.business_id, (p.created_at at time zone b.timezone)::date, count(*), count(p.member_id),
       sum(p.amount_cents), coalesce(sum(p.amount_cents) filter (where p.member_id is not null), 0)
from kanta.purchases p join kanta.businesses b on b.id = p.business_id
where p.refunded_at is null
group by 1, 2
on conflict (business_id, day) do nothing;

-- =============================================================================================
-- Section - Public functions that now read the rollup
-- Periods are whole days on the café's calendar: [day of p_from, day of p_to).
-- =============================================================================================
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
  if not kanta.is_staff(p_business_id, 'owner') then
    perform kanta.fail('owner_only', 'forbidden');
  end if;
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

revoke execute on all functions in schema kanta from public, anon, authenticated;
grant execute on function kanta.is_staff(uuid, text) to authenticated;
grant execute on function kanta.can_listen(text) to authenticated;
grant execute on function kanta.can_see_member(uuid) to authenticated;
