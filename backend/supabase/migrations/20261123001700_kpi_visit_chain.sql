-- business_kpis at 100k members without a pass per buying member.
-- The repeat rate and visits per member need, for each member, how often they bought in the
-- period: a hash of ~65k members over ~300k purchases for 90 days (about 100 ms), then a join to
-- all the members for their tier (about 70 ms). Instead each purchase now carries:
--   * prev_at, prev2_at: when the same member bought the time before, and the time before that
--     (their purchases that are not refunded, in (created_at, id) order). A purchase is then the
--     member's first of a period when prev_at is before the period, and their second when prev_at
--     is inside it and prev2_at is not: buying members and repeaters are two counts over the
--     period's purchases, with no grouping by member.
--   * tier: the tier the member held when buying (the tier whose multiplier the purchase earned).
--     The average purchase by tier groups by it: no pass over the members.
-- The chain is kept by triggers, under the member's row lock (record_purchase holds it; a refund
-- takes it), so a purchase written late (its transaction began earlier) or a refund re-links the
-- purchases after it.

-- =============================================================================================
-- Section - Columns and their history
-- =============================================================================================
-- The old KPI index (each buying member's sales) is replaced below; gone first, so the rewrite
-- does not build it again.
drop index if exists kanta.purchases_member_sales_idx;
alter table kanta.purchases add column if not exists prev_at timestamptz;
alter table kanta.purchases add column if not exists prev2_at timestamptz;
alter table kanta.purchases add column if not exists tier text;
comment on column kanta.purchases.prev_at is
  'The same member''s previous purchase at this business (refunded ones skipped); null on their first';
comment on column kanta.purchases.prev2_at is 'The same member''s purchase before prev_at; null when there is none';
comment on column kanta.purchases.tier is 'The tier the member held when buying (what the multiplier came from)';

-- When the member bought the two times before this purchase (refunded purchases skipped), most
-- recent first: the one definition the history, new purchases and re-linking all use.
create or replace function kanta.purchases_before(p_member_id uuid, p_at timestamptz, p_id uuid)
returns timestamptz[]
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select array_agg(t.created_at order by t.created_at desc, t.id desc)
    from (
      select x.created_at, x.id from kanta.purchases x
      where x.member_id = p_member_id and x.refunded_at is null and x.created_at <= p_at
        and (x.created_at < p_at or x.id < p_id)
      order by x.created_at desc, x.id desc
      limit 2
    ) t
  );
end
$$;

-- History: every live purchase linked, and the tier held just before each purchase, by the same
-- kanta.member_tier the counter uses (with today's program and today's refunds). Filled by
-- rewriting the table once: an UPDATE of every row would leave a dead copy of each row, and of
-- its entry in every index, behind.
alter table kanta.purchases
  alter column prev_at type timestamptz using
    case when member_id is not null and refunded_at is null then (kanta.purchases_before(member_id, created_at, id))[1] end,
  alter column prev2_at type timestamptz using
    case when member_id is not null and refunded_at is null then (kanta.purchases_before(member_id, created_at, id))[2] end,
  alter column tier type text using
    case when member_id is not null then kanta.member_tier(member_id, created_at - interval '1 microsecond') ->> 'name' end;

-- Re-link a member's live purchases from p_from on. Only rows whose links change are written.
create or replace function kanta.relink_purchases(p_member_id uuid, p_from timestamptz)
returns void
language plpgsql
security definer
set search_path = ''
as $$
begin
  update kanta.purchases p set prev_at = w.before[1], prev2_at = w.before[2]
  from (
    select x.id, kanta.purchases_before(x.member_id, x.created_at, x.id) as before
    from kanta.purchases x
    where x.member_id = p_member_id and x.refunded_at is null and x.created_at >= p_from
  ) w
  where p.id = w.id
    and (p.prev_at is distinct from w.before[1] or p.prev2_at is distinct from w.before[2]);
end
$$;

-- =============================================================================================
-- Section - Triggers
-- =============================================================================================
-- Before a member's purchase is written: its tier (the points before it, as record_purchase's
-- tier_before) and its two predecessors.
create or replace function kanta.link_new_purchase()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_before timestamptz[];
begin
  if new.tier is null then
    new.tier := kanta.member_tier(new.member_id, new.created_at) ->> 'name';
  end if;
  if new.refunded_at is null then
    v_before := kanta.purchases_before(new.member_id, new.created_at, new.id);
    new.prev_at := v_before[1];
    new.prev2_at := v_before[2];
  end if;
  return new;
end
$$;
drop trigger if exists purchases_link on kanta.purchases;
create trigger purchases_link before insert on kanta.purchases
  for each row when (new.member_id is not null) execute function kanta.link_new_purchase();

-- After a member's purchase is written out of order, refunded, or moved: the purchases after it
-- are re-linked. The usual new purchase (the member's latest) costs one index probe.
create or replace function kanta.relink_after_change()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if tg_op = 'INSERT' then
    if exists (
      select 1 from kanta.purchases x
      where x.member_id = new.member_id and x.refunded_at is null and x.created_at >= new.created_at
        and (x.created_at > new.created_at or x.id > new.id)
    ) then
      perform kanta.relink_purchases(new.member_id, new.created_at);
    end if;
    return null;
  end if;
  -- A deleted member's purchases all lose their member at once (on delete set null): nothing to
  -- re-link. Otherwise the member's row lock keeps record_purchase from linking to a purchase
  -- being refunded.
  if old.member_id is not null and exists (select 1 from kanta.members where id = old.member_id) then
    perform 1 from kanta.members where id = old.member_id for update;
    perform kanta.relink_purchases(old.member_id, old.created_at);
  end if;
  if new.member_id is not null and new.member_id is distinct from old.member_id then
    perform 1 from kanta.members where id = new.member_id for update;
    perform kanta.relink_purchases(new.member_id, new.created_at);
  end if;
  return null;
end
$$;
drop trigger if exists purchases_relink_insert on kanta.purchases;
create trigger purchases_relink_insert after insert on kanta.purchases
  for each row when (new.member_id is not null and new.refunded_at is null) execute function kanta.relink_after_change();
drop trigger if exists purchases_relink_update on kanta.purchases;
create trigger purchases_relink_update after update of refunded_at, member_id, created_at on kanta.purchases
  for each row
  when (old.refunded_at is distinct from new.refunded_at or old.member_id is distinct from new.member_id
        or old.created_at is distinct from new.created_at)
  execute function kanta.relink_after_change();

-- =============================================================================================
-- Section - KPIs
-- =============================================================================================
-- A period's member purchases with their links, amounts and tiers, read from the index alone.
create index if not exists purchases_kpi_idx on kanta.purchases (business_id, created_at)
  include (amount_cents, prev_at, prev2_at, tier) where refunded_at is null and member_id is not null;

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
           'buying_members', coalesce(sum(buying), 0),
           'repeat_rate', round(sum(repeaters) / nullif(sum(buying), 0), 4),
           'visits_per_member', round(sum(visits) / nullif(sum(buying), 0), 2),
           -- The average purchase (one visit's spend), by the tier the member held when buying.
           'average_spend_by_tier', coalesce(jsonb_object_agg(tier, round(spend::numeric / visits)), '{}'::jsonb))
  into v_buyers
  from by_tier;

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

select kanta.grant_helpers();
