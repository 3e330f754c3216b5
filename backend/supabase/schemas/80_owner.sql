-- What the owner's screens need beyond the counter: the staff list, the café's drops, a reward
-- granted by hand, a one-tap win-back message, an audit log that also lists the counter's
-- operations by who made them, and the dashboard in one call.

-- =============================================================================================
-- Section - Staff
-- =============================================================================================
create or replace function public.staff_list(p_business_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform kanta.require_staff(p_business_id, 'owner');
  return coalesce((
    select jsonb_agg(jsonb_build_object('user_id', s.user_id, 'email', u.email, 'role', s.role,
                                        'since', s.created_at, 'me', s.user_id = auth.uid())
                     order by s.role, u.email)
    from kanta.staff s join auth.users u on u.id = s.user_id
    where s.business_id = p_business_id
  ), '[]'::jsonb);
end
$$;
revoke execute on function public.staff_list(uuid) from public, anon;
grant execute on function public.staff_list(uuid) to authenticated, service_role;

-- An owner removes a staff member. The café always keeps an owner: nobody removes themselves.
create or replace function public.remove_staff(p_business_id uuid, p_user_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_role text;
begin
  perform kanta.require_staff(p_business_id, 'owner');
  if p_user_id = auth.uid() then
    perform kanta.fail('cannot_remove_self', 'conflict');
  end if;
  delete from kanta.staff where business_id = p_business_id and user_id = p_user_id returning role into v_role;
  if v_role is null then
    perform kanta.fail('staff_not_found', 'not_found');
  end if;
  perform kanta.audit(p_business_id, 'staff_removed', p_user_id::text, jsonb_build_object('role', v_role));
  return jsonb_build_object('business_id', p_business_id, 'user_id', p_user_id, 'removed', true);
end
$$;
revoke execute on function public.remove_staff(uuid, uuid) from public, anon;
grant execute on function public.remove_staff(uuid, uuid) to authenticated, service_role;

-- =============================================================================================
-- Section - Drops for the owner and staff (newest first, with what is left)
-- =============================================================================================
create or replace function public.business_drops(p_business_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform kanta.require_staff(p_business_id);
  return coalesce((
    select jsonb_agg(to_jsonb(x.d) || jsonb_build_object('state', kanta.drop_state(x.d, kanta.now()),
                                                        'stock_left', (x.d).stock - (x.d).reserved)
                     order by (x.d).vip_starts_at desc)
    from (select d from kanta.drops d where d.business_id = p_business_id order by d.vip_starts_at desc limit 100) x
  ), '[]'::jsonb);
end
$$;
revoke execute on function public.business_drops(uuid) from public, anon;
grant execute on function public.business_drops(uuid) to authenticated, service_role;

-- =============================================================================================
-- Section - A reward granted by the owner (an apology, a thank-you): a voucher, idempotent
-- =============================================================================================
create or replace function public.grant_reward(p_business_id uuid, p_member_id uuid, p_title text,
                                               p_idempotency_key text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_done jsonb;
  v_member kanta.members;
  v_voucher kanta.vouchers;
  v_answer jsonb;
begin
  perform kanta.require_staff(p_business_id, 'owner');
  if p_title is null or length(btrim(p_title)) not between 1 and 80 then
    perform kanta.fail('invalid_reward_title');
  end if;
  v_done := kanta.begin_operation(p_business_id, p_idempotency_key, 'grant_reward', jsonb_build_object('member_id', p_member_id, 'title', btrim(p_title)));
  if v_done is not null then
    return v_done;
  end if;
  v_member := kanta.lock_member(p_business_id, p_member_id);
  v_voucher := kanta.issue_voucher(v_member.id, 'grant', btrim(p_title), p_idempotency_key);
  perform kanta.audit(p_business_id, 'reward_granted', v_member.id::text, jsonb_build_object('title', v_voucher.title));
  perform kanta.notify('member:' || v_member.id, 'voucher_issued', jsonb_build_object('voucher_id', v_voucher.id));
  v_answer := jsonb_build_object('member_id', v_member.id, 'code', v_voucher.code, 'title', v_voucher.title,
                                 'expires_at', v_voucher.expires_at);
  return kanta.finish_operation(p_business_id, p_idempotency_key, v_answer);
end
$$;
revoke execute on function public.grant_reward(uuid, uuid, text, text) from public, anon;
grant execute on function public.grant_reward(uuid, uuid, text, text) to authenticated, service_role;

-- =============================================================================================
-- Section - Win-back, one tap from the churn list
-- The same message the daily automation sends (kind win_back, marketing, so only with consent,
-- at most once per 60 days), sent now for one member.
-- =============================================================================================
create or replace function public.send_win_back(p_business_id uuid, p_member_id uuid)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := kanta.now();
  v_member kanta.members;
  v_sent boolean;
begin
  perform kanta.require_staff(p_business_id, 'owner');
  select * into v_member from kanta.members where id = p_member_id and business_id = p_business_id;
  if v_member.id is null or v_member.user_id is null then
    perform kanta.fail('member_not_found', 'not_found');
  end if;
  if not v_member.marketing_consent then
    perform kanta.fail('no_marketing_consent', 'conflict');
  end if;
  if exists (select 1 from kanta.messages x where x.member_id = v_member.id and x.kind = 'win_back'
             and x.created_at > v_now - interval '60 days') then
    perform kanta.fail('win_back_recently_sent', 'conflict');
  end if;
  v_sent := kanta.send(v_member.id, 'win_back', true, 'winback:' || v_now::text,
                       jsonb_build_object('days_away', extract(day from v_now - v_member.last_visit_at)::int));
  perform kanta.audit(p_business_id, 'win_back_sent', v_member.id::text, '{}'::jsonb);
  return jsonb_build_object('member_id', v_member.id, 'sent', v_sent);
end
$$;
revoke execute on function public.send_win_back(uuid, uuid) from public, anon;
grant execute on function public.send_win_back(uuid, uuid) to authenticated, service_role;

-- =============================================================================================
-- Section - Audit log: the owner's changes and the counter's operations, newest first
-- The cursor is "<microseconds since epoch>:<source>:<id>" so that pages never skip or repeat a
-- row, even when two rows share a moment.
-- =============================================================================================
create index if not exists operations_business_created_idx on kanta.operations (business_id, created_at desc, id desc);

create or replace function public.audit_log(p_business_id uuid, p_before text default null, p_limit integer default 50)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_at timestamptz := 'infinity';
  v_src integer := 3;
  v_id bigint := 0;
  v_rows jsonb;
begin
  perform kanta.require_staff(p_business_id, 'owner');
  if p_limit is null or p_limit not between 1 and 500 then
    perform kanta.fail('invalid_page_size');
  end if;
  if p_before is not null then
    begin
      v_at := 'epoch'::timestamptz + (split_part(p_before, ':', 1)::bigint || ' microseconds')::interval;
      v_src := split_part(p_before, ':', 2)::int;
      v_id := split_part(p_before, ':', 3)::bigint;
    exception when others then
      perform kanta.fail('invalid_cursor');
    end;
  end if;
  with page as (
    select * from (
      (select a.created_at, 2 as src, a.id, a.action, a.target, a.detail, a.actor
       from kanta.audit_log a
       where a.business_id = p_business_id and (a.created_at, 2, a.id) < (v_at, v_src, v_id)
       order by a.created_at desc, a.id desc
       limit p_limit)
      union all
      (select o.created_at, 1, o.id, o.kind, o.response ->> 'member_id',
              -- What the owner needs to read the line; the answer itself may hold more.
              jsonb_strip_nulls(jsonb_build_object('amount_cents', o.response -> 'amount_cents',
                                                   'title', o.response -> 'title',
                                                   'code', o.response -> 'code',
                                                   'purchase_id', o.response -> 'purchase_id',
                                                   'stamps_added', o.response -> 'stamps_added',
                                                   'points_added', o.response -> 'points_added')),
              o.created_by
       from kanta.operations o
       where o.business_id = p_business_id and o.response is not null
         -- Refunds and granted rewards write their own audit row.
         and o.kind not in ('refund_purchase', 'grant_reward')
         and (o.created_at, 1, o.id) < (v_at, v_src, v_id)
       order by o.created_at desc, o.id desc
       limit p_limit)
    ) both_sources
    order by created_at desc, src desc, id desc
    limit p_limit
  )
  select coalesce(jsonb_agg(jsonb_build_object(
           'cursor', (floor(extract(epoch from p.created_at) * 1000000))::bigint || ':' || p.src || ':' || p.id,
           'action', p.action, 'target', p.target, 'detail', p.detail, 'actor', p.actor,
           'actor_email', u.email, 'created_at', p.created_at)
         order by p.created_at desc, p.src desc, p.id desc), '[]'::jsonb)
  into v_rows
  from page p left join auth.users u on u.id = p.actor;
  return jsonb_build_object(
    'entries', v_rows,
    'next_before', case when jsonb_array_length(v_rows) = p_limit then v_rows -> -1 ->> 'cursor' end
  );
end
$$;
revoke execute on function public.audit_log(uuid, text, integer) from public, anon;
grant execute on function public.audit_log(uuid, text, integer) to authenticated, service_role;

-- =============================================================================================
-- Section - Per-staff figures: who recorded, overrode, refunded, granted and redeemed what
-- For the period's café days (as in business_kpis), each person on the staff (and anyone who left
-- it but acted in the period): purchases recorded (refunded ones too), purchases over a velocity
-- limit (overrides), refunds made, rewards granted by hand, vouchers and rewards redeemed. A
-- figure is flagged as unusual when it is at least 3x the café's median per staff member and at
-- least 3 (one refund in a quiet month is not a pattern); refunds and overrides are flagged.
-- =============================================================================================
create index if not exists purchases_business_refunded_idx on kanta.purchases (business_id, refunded_at)
  where refunded_at is not null;

create index if not exists ledger_business_staff_idx on kanta.ledger (business_id, created_at)
  where kind in ('voucher_issued', 'voucher_redeemed', 'points_spent');

create or replace function kanta.staff_figures(p_business_id uuid, p_from timestamptz, p_to timestamptz)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_tz text;
  v_start timestamptz;
  v_end timestamptz;
  v_factor constant integer := 3;
  v_floor constant integer := 3;
begin
  select timezone into v_tz from kanta.businesses where id = p_business_id;
  v_start := date_trunc('day', p_from at time zone v_tz) at time zone v_tz;
  v_end := date_trunc('day', p_to at time zone v_tz) at time zone v_tz;
  return (
    with acts as (
      select p.created_by as who, 1 as purchases, p.override::int as overrides, 0 as refunds, 0 as grants,
             0 as redemptions
      from kanta.purchases p
      where p.business_id = p_business_id and p.created_at >= v_start and p.created_at < v_end
      union all
      select p.refunded_by, 0, 0, 1, 0, 0
      from kanta.purchases p
      where p.business_id = p_business_id and p.refunded_at is not null
        and p.refunded_at >= v_start and p.refunded_at < v_end
      union all
      select l.created_by, 0, 0, 0,
             (l.kind = 'voucher_issued' and v.kind = 'grant')::int, (l.kind <> 'voucher_issued')::int
      from kanta.ledger l
      left join kanta.vouchers v on v.id = l.voucher_id
      where l.business_id = p_business_id and l.kind in ('voucher_issued', 'voucher_redeemed', 'points_spent')
        and l.created_at >= v_start and l.created_at < v_end
    ),
    people as (
      select s.user_id as who, s.role from kanta.staff s where s.business_id = p_business_id
      union
      select a.who, null from acts a
      where a.who is not null and not exists (select 1 from kanta.staff s where s.business_id = p_business_id
                                                                          and s.user_id = a.who)
    ),
    figures as (
      select pe.who, pe.role, u.email,
             coalesce(sum(a.purchases), 0)::int as purchases, coalesce(sum(a.overrides), 0)::int as overrides,
             coalesce(sum(a.refunds), 0)::int as refunds, coalesce(sum(a.grants), 0)::int as grants,
             coalesce(sum(a.redemptions), 0)::int as redemptions
      from people pe
      left join acts a on a.who = pe.who
      left join auth.users u on u.id = pe.who
      group by pe.who, pe.role, u.email
    ),
    medians as (
      select percentile_cont(0.5) within group (order by f.purchases) as purchases,
             percentile_cont(0.5) within group (order by f.overrides) as overrides,
             percentile_cont(0.5) within group (order by f.refunds) as refunds,
             percentile_cont(0.5) within group (order by f.grants) as grants,
             percentile_cont(0.5) within group (order by f.redemptions) as redemptions
      from figures f
    )
    select jsonb_build_object(
      'flag_factor', v_factor,
      'flag_floor', v_floor,
      'median', (select to_jsonb(m) from medians m),
      'members', coalesce(jsonb_agg(jsonb_build_object(
        'user_id', f.who, 'email', f.email, 'role', f.role,
        'purchases', f.purchases, 'overrides', f.overrides, 'refunds', f.refunds, 'grants', f.grants,
        'redemptions', f.redemptions,
        'flags', to_jsonb(array_remove(array[
          case when f.refunds >= greatest(v_floor, v_factor * m.refunds) then 'refunds' end,
          case when f.overrides >= greatest(v_floor, v_factor * m.overrides) then 'overrides' end], null)))
        order by f.email nulls last, f.who), '[]'::jsonb))
    from figures f cross join medians m
  );
end
$$;

-- =============================================================================================
-- Section - The owner's dashboard in one call: the period's KPIs and a series of each metric
-- =============================================================================================
create or replace function public.owner_dashboard(p_business_id uuid, p_from timestamptz, p_to timestamptz,
                                                  p_bucket text default 'week')
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform kanta.require_staff(p_business_id, 'owner');
  return jsonb_build_object(
    'kpis', public.business_kpis(p_business_id, p_from, p_to),
    'staff', kanta.staff_figures(p_business_id, p_from, p_to),
    'series', (select jsonb_object_agg(m, public.kpi_timeseries(p_business_id, m, p_bucket, p_from, p_to) -> 'points')
               from unnest(array['revenue', 'member_revenue_share', 'visits', 'new_members', 'redemptions', 'nps']) m));
end
$$;
revoke execute on function public.owner_dashboard(uuid, timestamptz, timestamptz, text) from public, anon;
grant execute on function public.owner_dashboard(uuid, timestamptz, timestamptz, text) to authenticated, service_role;
