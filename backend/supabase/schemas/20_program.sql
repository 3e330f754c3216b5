-- The loyalty program of a business: stamp card, points, tiers, vouchers, velocity limits, the
-- rewards catalogue; and the owner's audit log. `update_program` is the only way to change them.

-- =============================================================================================
-- Section - Audit log
-- =============================================================================================
create table if not exists kanta.audit_log (
  id bigint generated always as identity primary key,
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  actor uuid,
  action text not null,
  target text,
  detail jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);

create index if not exists audit_log_business_idx on kanta.audit_log (business_id, id desc);

create or replace function kanta.audit(p_business_id uuid, p_action text, p_target text, p_detail jsonb)
returns void
language sql
security definer
set search_path = ''
as $$
  insert into kanta.audit_log (business_id, actor, action, target, detail, created_at)
  values (p_business_id, auth.uid(), p_action, p_target, coalesce(p_detail, '{}'::jsonb), kanta.now())
$$;

-- =============================================================================================
-- Section - Programs
-- =============================================================================================
create table if not exists kanta.programs (
  business_id uuid primary key references kanta.businesses (id) on delete cascade,
  stamps_per_card integer not null default 10,
  stamp_reward text not null default 'Free coffee',
  stamp_min_cents integer not null default 0,
  stamps_per_purchase integer not null default 1,
  points_per_euro numeric(6, 2) not null default 1,
  -- [{"name", "min_points", "multiplier", "perks": [...]}], ascending, the first at 0 points.
  tiers jsonb not null default '[{"name": "Bronze", "min_points": 0, "multiplier": 1.0, "perks": []}]'::jsonb,
  tier_window_months integer not null default 12,
  voucher_valid_days integer not null default 90,
  stamp_cooldown_minutes integer not null default 10,
  max_purchases_per_day integer not null default 5,
  -- Above this amount (cents, in the café's currency) record_purchase asks for a confirmation.
  confirm_above_cents integer not null default 20000,
  referral_referrer_reward text not null default 'Free coffee for a friend brought',
  referral_welcome_reward text not null default 'Welcome coffee',
  referral_monthly_cap integer not null default 10,
  referral_min_cents integer not null default 0,
  birthday_reward text not null default 'Birthday treat',
  updated_at timestamptz not null default now(),
  constraint programs_stamps_per_card check (stamps_per_card between 3 and 30),
  constraint programs_stamp_reward check (length(btrim(stamp_reward)) between 1 and 80),
  constraint programs_stamp_min check (stamp_min_cents between 0 and 100000000),
  constraint programs_stamps_per_purchase check (stamps_per_purchase between 1 and 10),
  constraint programs_points_per_euro check (points_per_euro between 0 and 100),
  constraint programs_tier_window check (tier_window_months between 1 and 36),
  constraint programs_voucher_days check (voucher_valid_days between 1 and 730),
  constraint programs_cooldown check (stamp_cooldown_minutes between 0 and 1440),
  constraint programs_daily_limit check (max_purchases_per_day between 1 and 100),
  constraint programs_confirm_above check (confirm_above_cents between 1 and 100000000),
  constraint programs_referral_rewards check (length(btrim(referral_referrer_reward)) between 1 and 80
                                              and length(btrim(referral_welcome_reward)) between 1 and 80),
  constraint programs_referral_cap check (referral_monthly_cap between 0 and 100),
  constraint programs_referral_min check (referral_min_cents between 0 and 100000000),
  constraint programs_birthday_reward check (length(btrim(birthday_reward)) between 1 and 80)
);

-- Every business has a program from the start.
create or replace function kanta.create_default_program()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into kanta.programs (business_id) values (new.id) on conflict do nothing;
  return new;
end
$$;

create trigger businesses_default_program after insert on kanta.businesses
  for each row execute function kanta.create_default_program();

-- =============================================================================================
-- Section - Rewards catalogue (bought with points)
-- =============================================================================================
create table if not exists kanta.rewards (
  id uuid primary key default gen_random_uuid(),
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  name text not null,
  cost_points integer not null,
  active boolean not null default true,
  created_at timestamptz not null default now(),
  unique (business_id, name),
  constraint rewards_name check (length(btrim(name)) between 1 and 80),
  constraint rewards_cost check (cost_points between 1 and 1000000)
);

-- =============================================================================================
-- Section - Integration settings (70_integrations.sql uses them)
-- The webhook secret lives apart from the program: staff read the program, only the owner sets
-- the secret, and nobody reads it back through the API.
-- =============================================================================================
create table if not exists kanta.integrations (
  business_id uuid primary key references kanta.businesses (id) on delete cascade,
  review_url text,
  woocommerce_secret text,
  -- 'net': the order total less shipping and tax; 'total': the grand total.
  woocommerce_amount text not null default 'net',
  updated_at timestamptz not null default now(),
  constraint integrations_review_url check (review_url is null
                                            or (review_url ~ '^https://[^\s/]+\.[^\s]+$' and length(review_url) <= 500)),
  constraint integrations_secret check (woocommerce_secret is null or length(woocommerce_secret) between 16 and 200),
  constraint integrations_amount check (woocommerce_amount in ('net', 'total'))
);

alter table kanta.integrations enable row level security;

revoke all on kanta.integrations from anon, authenticated, public;

-- =============================================================================================
-- Section - Tiers
-- The one definition of "which tier": the highest whose threshold the points earned inside the
-- rolling window reach.
-- =============================================================================================
-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.tier_for(p_tiers jsonb, p_points integer)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select t
    from jsonb_array_elements(p_tiers) as t
    where (t ->> 'min_points')::int <= greatest(p_points, 0)
    order by (t ->> 'min_points')::int desc
    limit 1
  );
end
$$;

-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.next_tier(p_tiers jsonb, p_points integer)
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  return (
    select t
    from jsonb_array_elements(p_tiers) as t
    where (t ->> 'min_points')::int > greatest(p_points, 0)
    order by (t ->> 'min_points')::int
    limit 1
  );
end
$$;

-- Validates a tiers array; raises invalid_tiers with what is wrong.
create or replace function kanta.check_tiers(p_tiers jsonb)
returns void
language plpgsql
immutable
set search_path = ''
as $$
declare
  v_tier jsonb;
  v_prev integer := -1;
  v_names text[] := '{}';
  v_name text;
  v_min integer;
  v_mult numeric;
begin
  if p_tiers is null or jsonb_typeof(p_tiers) <> 'array' or jsonb_array_length(p_tiers) not between 1 and 10 then
    perform kanta.fail('invalid_tiers', 'invalid', 'tiers must be a list of 1 to 10 tiers');
  end if;
  for v_tier in select value from jsonb_array_elements(p_tiers) loop
    if jsonb_typeof(v_tier) <> 'object' then
      perform kanta.fail('invalid_tiers', 'invalid', 'each tier is an object');
    end if;
    v_name := btrim(v_tier ->> 'name');
    begin
      v_min := (v_tier ->> 'min_points')::int;
      v_mult := coalesce((v_tier ->> 'multiplier')::numeric, 1);
    exception when others then
      perform kanta.fail('invalid_tiers', 'invalid', 'min_points and multiplier must be numbers');
    end;
    if v_name is null or length(v_name) not between 1 and 40 or v_name = any (v_names) then
      perform kanta.fail('invalid_tiers', 'invalid', 'tier names must be 1-40 characters and different');
    end if;
    if v_min is null or v_min <= v_prev or (v_prev = -1 and v_min <> 0) then
      perform kanta.fail('invalid_tiers', 'invalid', 'thresholds must rise, starting at 0');
    end if;
    if v_mult < 1 or v_mult > 5 then
      perform kanta.fail('invalid_tiers', 'invalid', 'multipliers must be between 1 and 5');
    end if;
    if v_tier ? 'perks' and (jsonb_typeof(v_tier -> 'perks') <> 'array'
        or exists (select 1 from jsonb_array_elements(v_tier -> 'perks') p where jsonb_typeof(p) <> 'string')) then
      perform kanta.fail('invalid_tiers', 'invalid', 'perks must be a list of words');
    end if;
    v_names := v_names || v_name;
    v_prev := v_min;
  end loop;
end
$$;

-- =============================================================================================
-- Section - RLS Policies
-- =============================================================================================
alter table kanta.audit_log enable row level security;

alter table kanta.programs enable row level security;

alter table kanta.rewards enable row level security;

revoke all on kanta.audit_log, kanta.programs, kanta.rewards from anon, authenticated, public;

grant select on kanta.audit_log, kanta.programs, kanta.rewards to authenticated;

create policy "Audit log is viewable by the owner" on kanta.audit_log
  for select to authenticated using (kanta.is_staff(business_id, 'owner'));

create policy "Programs are viewable by the business's staff and members" on kanta.programs
  for select to authenticated
  using (kanta.is_staff(business_id)
         or exists (select 1 from kanta.members m
                    where m.business_id = programs.business_id and m.user_id = (select auth.uid())));

create policy "Rewards are viewable by the business's staff and members" on kanta.rewards
  for select to authenticated
  using (kanta.is_staff(business_id)
         or exists (select 1 from kanta.members m
                    where m.business_id = rewards.business_id and m.user_id = (select auth.uid())));

-- =============================================================================================
-- Section - Public functions
-- =============================================================================================

-- The program as the owner edits it, with the catalogue (kanta.program_json adds the integration settings).
-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.program_settings_json(p_business_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select jsonb_build_object(
      'business_id', p.business_id,
      'stamps_per_card', p.stamps_per_card,
      'stamp_reward', p.stamp_reward,
      'stamp_min_cents', p.stamp_min_cents,
      'stamps_per_purchase', p.stamps_per_purchase,
      'points_per_euro', p.points_per_euro,
      'tiers', p.tiers,
      'tier_window_months', p.tier_window_months,
      'voucher_valid_days', p.voucher_valid_days,
      'stamp_cooldown_minutes', p.stamp_cooldown_minutes,
      'max_purchases_per_day', p.max_purchases_per_day,
      'confirm_above_cents', p.confirm_above_cents,
      'referral_referrer_reward', p.referral_referrer_reward,
      'referral_welcome_reward', p.referral_welcome_reward,
      'referral_monthly_cap', p.referral_monthly_cap,
      'referral_min_cents', p.referral_min_cents,
      'birthday_reward', p.birthday_reward,
      'rewards', coalesce((
        select jsonb_agg(jsonb_build_object('id', r.id, 'name', r.name, 'cost_points', r.cost_points)
                         order by r.cost_points, r.name)
        from kanta.rewards r where r.business_id = p.business_id and r.active
      ), '[]'::jsonb)
    )
    from kanta.programs p
    where p.business_id = p_business_id
  );
end
$$;

-- The program with its integration settings: what get_program and update_program answer.
-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.program_json(p_business_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select kanta.program_settings_json(p_business_id) || jsonb_build_object(
      'review_url', i.review_url,
      'woocommerce_connected', i.woocommerce_secret is not null,
      'woocommerce_amount', coalesce(i.woocommerce_amount, 'net'))
    from (select 1) one
    left join kanta.integrations i on i.business_id = p_business_id
  );
end
$$;

create or replace function public.get_program(p_business_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  perform kanta.require_staff(p_business_id);
  return kanta.program_json(p_business_id);
end
$$;
revoke execute on function public.get_program(uuid) from public, anon;
grant execute on function public.get_program(uuid) to authenticated, service_role;

-- Change any subset of the settings; every value is checked and nothing changes on a bad one.
-- `rewards` replaces the catalogue: listed names are kept or added, the rest are retired.
-- review_url, woocommerce_secret and woocommerce_amount (null or '' clears the first two) are the
-- integration settings; the audit log records that the secret changed, never the secret.
create or replace function public.update_program(p_business_id uuid, p_settings jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_known text[] := array['stamps_per_card', 'stamp_reward', 'stamp_min_cents', 'stamps_per_purchase',
    'points_per_euro', 'tiers', 'tier_window_months', 'voucher_valid_days', 'stamp_cooldown_minutes',
    'max_purchases_per_day', 'referral_referrer_reward', 'referral_welcome_reward', 'referral_monthly_cap',
    'referral_min_cents', 'birthday_reward', 'rewards', 'confirm_above_cents'];
  v_integration_keys text[] := array['review_url', 'woocommerce_secret', 'woocommerce_amount'];
  v_integration jsonb;
  v_program jsonb;
  v_key text;
  v_reward jsonb;
  v_names text[] := '{}';
begin
  perform kanta.require_staff(p_business_id, 'owner');
  if p_settings is null or jsonb_typeof(p_settings) <> 'object' then
    perform kanta.fail('invalid_settings');
  end if;
  v_integration := (select coalesce(jsonb_object_agg(key, value), '{}'::jsonb) from jsonb_each(p_settings)
                    where key = any (v_integration_keys));
  v_program := p_settings - v_integration_keys;
  if v_integration <> '{}'::jsonb then
    if exists (select 1 from jsonb_each(v_integration) where jsonb_typeof(value) not in ('string', 'null')) then
      perform kanta.fail('invalid_settings');
    end if;
    begin
      insert into kanta.integrations as i (business_id, review_url, woocommerce_secret, woocommerce_amount, updated_at)
      values (p_business_id, nullif(btrim(v_integration ->> 'review_url'), ''),
              nullif(v_integration ->> 'woocommerce_secret', ''), coalesce(v_integration ->> 'woocommerce_amount', 'net'),
              kanta.now())
      on conflict (business_id) do update set
        review_url = case when v_integration ? 'review_url' then excluded.review_url else i.review_url end,
        woocommerce_secret = case when v_integration ? 'woocommerce_secret' then excluded.woocommerce_secret
                                  else i.woocommerce_secret end,
        woocommerce_amount = case when v_integration ? 'woocommerce_amount' then excluded.woocommerce_amount
                                  else i.woocommerce_amount end,
        updated_at = excluded.updated_at;
    exception
      when check_violation then
        perform kanta.fail(case
          when sqlerrm like '%integrations_review_url%' then 'invalid_review_url'
          when sqlerrm like '%integrations_secret%' then 'invalid_webhook_secret'
          else 'invalid_woocommerce_amount' end);
    end;
    perform kanta.audit(p_business_id, 'integrations_updated', null,
                        (v_integration - 'woocommerce_secret')
                        || case when v_integration ? 'woocommerce_secret'
                                then jsonb_build_object('woocommerce_secret',
                                       case when nullif(v_integration ->> 'woocommerce_secret', '') is null then 'removed'
                                            else 'changed' end)
                                else '{}'::jsonb end);
    if v_program = '{}'::jsonb then
      return kanta.program_json(p_business_id);
    end if;
  end if;

  for v_key in select jsonb_object_keys(v_program) loop
    if not v_key = any (v_known) then
      perform kanta.fail('unknown_setting', 'invalid', v_key);
    end if;
  end loop;
  if v_program ? 'tiers' then
    perform kanta.check_tiers(v_program -> 'tiers');
  end if;

  begin
    update kanta.programs p set
      stamps_per_card = coalesce((v_program ->> 'stamps_per_card')::int, p.stamps_per_card),
      stamp_reward = coalesce(btrim(v_program ->> 'stamp_reward'), p.stamp_reward),
      stamp_min_cents = coalesce((v_program ->> 'stamp_min_cents')::int, p.stamp_min_cents),
      stamps_per_purchase = coalesce((v_program ->> 'stamps_per_purchase')::int, p.stamps_per_purchase),
      points_per_euro = coalesce((v_program ->> 'points_per_euro')::numeric, p.points_per_euro),
      tiers = coalesce(v_program -> 'tiers', p.tiers),
      tier_window_months = coalesce((v_program ->> 'tier_window_months')::int, p.tier_window_months),
      voucher_valid_days = coalesce((v_program ->> 'voucher_valid_days')::int, p.voucher_valid_days),
      stamp_cooldown_minutes = coalesce((v_program ->> 'stamp_cooldown_minutes')::int, p.stamp_cooldown_minutes),
      max_purchases_per_day = coalesce((v_program ->> 'max_purchases_per_day')::int, p.max_purchases_per_day),
      confirm_above_cents = coalesce((v_program ->> 'confirm_above_cents')::int, p.confirm_above_cents),
      referral_referrer_reward = coalesce(btrim(v_program ->> 'referral_referrer_reward'), p.referral_referrer_reward),
      referral_welcome_reward = coalesce(btrim(v_program ->> 'referral_welcome_reward'), p.referral_welcome_reward),
      referral_monthly_cap = coalesce((v_program ->> 'referral_monthly_cap')::int, p.referral_monthly_cap),
      referral_min_cents = coalesce((v_program ->> 'referral_min_cents')::int, p.referral_min_cents),
      birthday_reward = coalesce(btrim(v_program ->> 'birthday_reward'), p.birthday_reward),
      updated_at = kanta.now()
    where p.business_id = p_business_id;
  exception
    when check_violation then
      -- The constraint's name says which setting is out of range, e.g. programs_stamps_per_card.
      perform kanta.fail('setting_out_of_range', 'invalid', replace(sqlerrm, '"', ''));
    when invalid_text_representation or numeric_value_out_of_range or datatype_mismatch then
      perform kanta.fail('setting_not_a_number');
  end;

  if v_program ? 'rewards' then
    if jsonb_typeof(v_program -> 'rewards') <> 'array' then
      perform kanta.fail('invalid_rewards');
    end if;
    for v_reward in select value from jsonb_array_elements(v_program -> 'rewards') loop
      begin
        insert into kanta.rewards (business_id, name, cost_points, active)
        values (p_business_id, btrim(v_reward ->> 'name'), (v_reward ->> 'cost_points')::int, true)
        on conflict (business_id, name) do update set cost_points = excluded.cost_points, active = true;
      exception
        when check_violation or not_null_violation or invalid_text_representation or numeric_value_out_of_range then
          perform kanta.fail('invalid_rewards', 'invalid', coalesce(v_reward ->> 'name', ''));
      end;
      v_names := v_names || btrim(v_reward ->> 'name');
    end loop;
    update kanta.rewards set active = false
    where business_id = p_business_id and active and not (name = any (v_names));
  end if;

  perform kanta.audit(p_business_id, 'program_updated', null, v_program);
  return kanta.program_json(p_business_id);
end
$$;
revoke execute on function public.update_program(uuid, jsonb) from public, anon;
grant execute on function public.update_program(uuid, jsonb) to authenticated, service_role;
