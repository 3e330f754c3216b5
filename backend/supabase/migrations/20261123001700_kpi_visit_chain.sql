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
-- The chain is kept by two triggers, under the member's row lock (record_purchase holds it; a
-- refund takes it), with one re-linking step: a purchase written late (its transaction began
-- earlier) or refunded re-links the at most two purchases after it.

-- =============================================================================================
-- Section - Columns and their history
-- =============================================================================================
-- The old KPI index (each buying member's sales) is replaced below; gone first, so the rewrite
-- does not build it again.
drop index if exists kanta.purchases_member_sales_idx;
-- A member's purchases in (created_at, id) order, the links' order, straight from the index (no
-- sort step for purchases made at the same moment). It takes the place of (member_id, created_at).
create index if not exists purchases_member_order_idx on kanta.purchases (member_id, created_at, id);
drop index if exists kanta.purchases_member_idx;
alter index kanta.purchases_member_order_idx rename to purchases_member_idx;
alter table kanta.purchases add column if not exists prev_at timestamptz;
alter table kanta.purchases add column if not exists prev2_at timestamptz;
alter table kanta.purchases add column if not exists tier text;
comment on column kanta.purchases.prev_at is
  'The same member''s previous purchase at this business (refunded ones skipped); null on their first';
comment on column kanta.purchases.prev2_at is 'The same member''s purchase before prev_at; null when there is none';
comment on column kanta.purchases.tier is 'The tier the member held when buying (what the multiplier came from)';

-- When the member bought the two times before this purchase (refunded purchases skipped), most
-- recent first: the one definition the history, new purchases and re-linking all use.
-- On every purchase's path, so without SECURITY DEFINER or SET: a SET clause costs each call a
-- configuration save and restore, and a changed search_path makes the next name lookups start
-- over. Every name in it is qualified; kanta functions are not callable by the API's roles.
create or replace function kanta.purchases_before(p_member_id uuid, p_at timestamptz, p_id uuid)
returns timestamptz[]
language plpgsql
stable
as $$
begin
  return array(
    select x.created_at from kanta.purchases x
    where x.member_id = p_member_id and (x.created_at, x.id) < (p_at, p_id) and x.refunded_at is null
    order by x.created_at desc, x.id desc
    limit 2
  );
end
$$;

-- History: every live purchase linked, and the tier held just before each purchase, by the same
-- kanta.member_tier the counter uses (with today's program and today's refunds). Worked out into
-- a scratch table first, then written by rewriting the table once: an UPDATE of every row would
-- leave a dead copy of each row, and of its entry in every index, behind.
create temporary table purchase_history on commit drop as
select x.id,
       case when x.refunded_at is null then kanta.purchases_before(x.member_id, x.created_at, x.id) end as before,
       kanta.member_tier(x.member_id, x.created_at - interval '1 microsecond') ->> 'name' as tier
from kanta.purchases x
where x.member_id is not null;
create unique index on purchase_history (id);
analyze purchase_history;

create function pg_temp.purchase_history(p_id uuid)
returns purchase_history
language sql
stable
as $$
  select h from purchase_history h where h.id = p_id
$$;

alter table kanta.purchases
  alter column prev_at type timestamptz using (pg_temp.purchase_history(id)).before[1],
  alter column prev2_at type timestamptz using (pg_temp.purchase_history(id)).before[2],
  alter column tier type text using (pg_temp.purchase_history(id)).tier;
drop function pg_temp.purchase_history(uuid);

-- A place in a member's chain now has p_prev and p_prev2 just before it: the (at most two) live
-- purchases after (p_at, p_id) follow them. The one re-linking step, for a purchase written late
-- (p_prev is that purchase) and for a refunded one (p_prev, p_prev2 are what it followed).
-- On the purchase path, so without SET or SECURITY DEFINER, like kanta.purchases_before.
create or replace function kanta.link_next(p_member_id uuid, p_at timestamptz, p_id uuid,
                                           p_prev timestamptz, p_prev2 timestamptz)
returns void
language plpgsql
as $$
declare
  v_after uuid[];
begin
  v_after := array(
    select x.id from kanta.purchases x
    where x.member_id = p_member_id and (x.created_at, x.id) > (p_at, p_id) and x.refunded_at is null
    order by x.created_at, x.id
    limit 2
  );
  if cardinality(v_after) > 0 then
    update kanta.purchases set prev_at = p_prev, prev2_at = p_prev2 where id = v_after[1];
    update kanta.purchases set prev2_at = p_prev where id = v_after[2];
  end if;
end
$$;

-- =============================================================================================
-- Section - Triggers
-- =============================================================================================
-- Before a member's purchase is written: its two predecessors; and, when it is written late (its
-- transaction began before one already written), it becomes the predecessor of those after it.
-- The tier is the writer's to give (record_purchase gives the tier it worked out). Runs as the
-- writer (record_purchase's owner), without SET: see kanta.purchases_before.
create or replace function kanta.link_new_purchase()
returns trigger
language plpgsql
as $$
declare
  v_before timestamptz[];
begin
  v_before := kanta.purchases_before(new.member_id, new.created_at, new.id);
  new.prev_at := v_before[1];
  new.prev2_at := v_before[2];
  perform kanta.link_next(new.member_id, new.created_at, new.id, new.created_at, v_before[1]);
  return new;
end
$$;
drop trigger if exists purchases_link on kanta.purchases;
create trigger purchases_link before insert on kanta.purchases
  for each row when (new.member_id is not null and new.refunded_at is null)
  execute function kanta.link_new_purchase();

-- A refunded purchase leaves its member's chain: the purchases after it follow what it followed.
-- Under the member's row lock, so that record_purchase cannot link to a purchase being refunded.
-- (Nothing moves a purchase to another member or another time; a deleted member's purchases lose
-- their member all at once and leave the KPIs' index together.)
create or replace function kanta.unlink_refunded_purchase()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  perform 1 from kanta.members where id = old.member_id for update;
  perform kanta.link_next(old.member_id, old.created_at, old.id, old.prev_at, old.prev2_at);
  return null;
end
$$;
drop trigger if exists purchases_unlink_refunded on kanta.purchases;
create trigger purchases_unlink_refunded after update of refunded_at on kanta.purchases
  for each row when (old.refunded_at is null and new.refunded_at is not null and old.member_id is not null)
  execute function kanta.unlink_refunded_purchase();

-- =============================================================================================
-- Section - The counter
-- =============================================================================================
-- record_purchase as in the ledger migration, with one change: the purchase row keeps the tier it
-- already worked out (tier_before, whose multiplier the purchase earns). Working it out again in
-- a trigger would cost about 0.1 ms a purchase at 100k members.
create or replace function public.record_purchase(
  p_business_id uuid,
  p_member_id uuid,
  p_amount_cents integer,
  p_idempotency_key text,
  p_override boolean default false
)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := kanta.now();
  v_previous jsonb;
  v_program kanta.programs;
  v_business kanta.businesses;
  v_member kanta.members;
  v_purchase_id uuid := gen_random_uuid();
  v_today_count integer;
  v_recent_stamp boolean;
  v_overridden text[] := '{}';
  v_tier_before jsonb;
  v_tier_after jsonb;
  v_stamps_added integer := 0;
  v_points_added integer := 0;
  v_multiplier numeric := 1;
  v_stamps integer;
  v_seq integer := 0;
  v_voucher kanta.vouchers;
  v_vouchers jsonb := '[]'::jsonb;
  v_response jsonb;
begin
  v_previous := kanta.begin_operation(p_business_id, p_idempotency_key, 'record_purchase');
  if v_previous is not null then
    return v_previous;
  end if;
  if p_amount_cents is null or p_amount_cents not between 1 and 100000000 then
    perform kanta.fail('invalid_amount');
  end if;
  if coalesce(p_override, false) and not kanta.is_staff(p_business_id, 'owner') then
    perform kanta.fail('owner_only', 'forbidden');
  end if;

  select * into v_program from kanta.programs where business_id = p_business_id;
  select * into v_business from kanta.businesses where id = p_business_id;

  if p_member_id is null then
    insert into kanta.purchases (id, business_id, member_id, amount_cents, created_by, created_at)
    values (v_purchase_id, p_business_id, null, p_amount_cents, auth.uid(), v_now);
    v_response := jsonb_build_object('purchase_id', v_purchase_id, 'member_id', null,
                                     'amount_cents', p_amount_cents, 'created_at', v_now);
    perform kanta.notify('business:' || p_business_id, 'purchase_recorded', jsonb_build_object('purchase_id', v_purchase_id));
    return kanta.finish_operation(p_business_id, p_idempotency_key, v_response);
  end if;

  v_member := kanta.lock_member(p_business_id, p_member_id);

  -- Velocity: purchases per local day, and one stamp per cooldown.
  -- The café's day as a range, so the (member_id, created_at) index answers it.
  select count(*) into v_today_count
  from kanta.purchases
  where member_id = v_member.id and refunded_at is null
    and created_at >= date_trunc('day', v_now at time zone v_business.timezone) at time zone v_business.timezone
    and created_at < (date_trunc('day', v_now at time zone v_business.timezone) + interval '1 day')
                     at time zone v_business.timezone;
  if v_today_count >= v_program.max_purchases_per_day then
    v_overridden := array_append(v_overridden, 'max_purchases_per_day');
  end if;
  if p_amount_cents >= v_program.stamp_min_cents and v_program.stamp_cooldown_minutes > 0 then
    select exists (
      select 1 from kanta.purchases
      where member_id = v_member.id and refunded_at is null and stamps > 0
        and created_at > v_now - make_interval(mins => v_program.stamp_cooldown_minutes)
        and created_at <= v_now
    ) into v_recent_stamp;
    if v_recent_stamp then
      v_overridden := array_append(v_overridden, 'stamp_cooldown');
    end if;
  end if;
  if cardinality(v_overridden) > 0 and not coalesce(p_override, false) then
    perform kanta.fail('velocity_limit', 'conflict', array_to_string(v_overridden, ','));
  end if;

  v_tier_before := kanta.tier_for(v_program.tiers, kanta.qualifying_points(v_member.id, v_program.tier_window_months, v_now));
  v_multiplier := coalesce((v_tier_before ->> 'multiplier')::numeric, 1);
  if p_amount_cents >= v_program.stamp_min_cents then
    v_stamps_added := v_program.stamps_per_purchase;
  end if;
  v_points_added := floor(p_amount_cents * v_program.points_per_euro * v_multiplier / 100)::int;

  insert into kanta.purchases (id, business_id, member_id, amount_cents, stamps, points, multiplier, override,
                               created_by, created_at, tier)
  values (v_purchase_id, p_business_id, v_member.id, p_amount_cents, v_stamps_added, v_points_added, v_multiplier,
          cardinality(v_overridden) > 0, auth.uid(), v_now, v_tier_before ->> 'name');

  if v_stamps_added > 0 then
    v_seq := v_seq + 1;
    insert into kanta.ledger (business_id, member_id, kind, stamps, purchase_id, idempotency_key, created_by, created_at)
    values (p_business_id, v_member.id, 'stamp', v_stamps_added, v_purchase_id, p_idempotency_key || '#' || v_seq,
            auth.uid(), v_now);
  end if;
  if v_points_added > 0 then
    v_seq := v_seq + 1;
    insert into kanta.ledger (business_id, member_id, kind, points, purchase_id, idempotency_key, created_by, created_at)
    values (p_business_id, v_member.id, 'points_earned', v_points_added, v_purchase_id,
            p_idempotency_key || '#' || v_seq, auth.uid(), v_now);
  end if;

  -- Each full card becomes a voucher; what is over the card stays on the next one.
  v_stamps := v_member.stamps + v_stamps_added;
  while v_stamps >= v_program.stamps_per_card loop
    v_seq := v_seq + 1;
    v_voucher := kanta.issue_voucher(v_member.id, 'stamp_card', v_program.stamp_reward,
                                     p_idempotency_key || '#' || v_seq, -v_program.stamps_per_card, v_purchase_id);
    v_vouchers := v_vouchers || jsonb_build_object('id', v_voucher.id, 'code', v_voucher.code,
                                                   'title', v_voucher.title, 'expires_at', v_voucher.expires_at);
    v_stamps := v_stamps - v_program.stamps_per_card;
  end loop;

  v_tier_after := kanta.tier_for(v_program.tiers, kanta.qualifying_points(v_member.id, v_program.tier_window_months, v_now));
  update kanta.members set
    visits = visits + 1,
    spend_cents = spend_cents + p_amount_cents,
    first_visit_at = coalesce(first_visit_at, v_now),
    last_visit_at = greatest(coalesce(last_visit_at, v_now), v_now),
    tier = v_tier_after ->> 'name'
  where id = v_member.id
  returning * into v_member;

  if cardinality(v_overridden) > 0 then
    perform kanta.audit(p_business_id, 'velocity_override', v_member.id::text,
                        jsonb_build_object('rules', to_jsonb(v_overridden), 'purchase_id', v_purchase_id,
                                           'amount_cents', p_amount_cents));
  end if;

  v_response := jsonb_build_object(
    'purchase_id', v_purchase_id,
    'member_id', v_member.id,
    'amount_cents', p_amount_cents,
    'created_at', v_now,
    'stamps_added', v_stamps_added,
    'stamps', v_member.stamps,
    'stamps_per_card', v_program.stamps_per_card,
    'points_added', v_points_added,
    'points', v_member.points,
    'multiplier', v_multiplier,
    'vouchers_issued', v_vouchers,
    'tier_before', v_tier_before ->> 'name',
    'tier_after', v_tier_after ->> 'name',
    'tier_changed', (v_tier_before ->> 'name') is distinct from (v_tier_after ->> 'name'),
    'override', to_jsonb(v_overridden)
  ) || kanta.purchase_extras(v_purchase_id);
  perform kanta.notify('member:' || v_member.id, 'purchase_recorded', jsonb_build_object('purchase_id', v_purchase_id));
  perform kanta.notify('business:' || p_business_id, 'purchase_recorded', jsonb_build_object('purchase_id', v_purchase_id));
  return kanta.finish_operation(p_business_id, p_idempotency_key, v_response);
end
$$;
revoke execute on function public.record_purchase(uuid, uuid, integer, text, boolean) from public, anon;
grant execute on function public.record_purchase(uuid, uuid, integer, text, boolean) to authenticated, service_role;

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

select kanta.grant_helpers();
