-- Referrals: each member has a code per business; the link {PUBLIC_URL}/r/{code} previews the
-- offer to anyone and joins a new customer with the referrer attached. Both rewards wait for the
-- referee's first qualifying purchase: then the referee's welcome voucher and the referrer's
-- reward are issued together, so signing up alone earns nothing. "New" means an e-mail (normalised:
-- kanta.normalise_email, 10_members.sql) that has never been a member of the business, which a
-- keyed trace remembers after an account is deleted.

-- =============================================================================================
-- Section - Who has been a member: a keyed, non-reversible trace of e-mails
-- HMAC-SHA256 (kanta.hmac_sha256, 70_integrations.sql) of the normalised e-mail, keyed with a
-- secret of the business that never leaves the database (one key per business, so the traces of
-- two businesses cannot be matched with each other). Written at every join and kept when
-- the account is deleted: its purpose is fraud prevention (a legitimate interest, stated in the
-- app's privacy notice), so that deleting and re-joining is not "new". It cannot be turned back
-- into an address; with the key, a given address can only be checked against it.
-- =============================================================================================
create table if not exists kanta.trace_keys (
  business_id uuid primary key references kanta.businesses (id) on delete cascade,
  secret bytea not null,
  created_at timestamptz not null default now(),
  constraint trace_keys_length check (length(secret) >= 32)
);

create table if not exists kanta.member_traces (
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  email_hmac bytea not null,
  first_joined_at timestamptz not null default now(),
  primary key (business_id, email_hmac)
);

alter table kanta.trace_keys enable row level security;

alter table kanta.member_traces enable row level security;

revoke all on kanta.trace_keys, kanta.member_traces from anon, authenticated, public;

-- The business's key, made on first use (32 bytes from the strong random source behind
-- gen_random_uuid), so that no two businesses or installations share one and no migration carries it.
create or replace function kanta.trace_key(p_business_id uuid)
returns bytea
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  v_key bytea;
begin
  select secret into v_key from kanta.trace_keys where business_id = p_business_id;
  if v_key is null then
    insert into kanta.trace_keys (business_id, secret)
    values (p_business_id, uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()))
    on conflict (business_id) do nothing;
    select secret into v_key from kanta.trace_keys where business_id = p_business_id;
  end if;
  return v_key;
end
$$;

-- The trace of an e-mail at a business: null when there is no e-mail to trace.
create or replace function kanta.email_trace(p_business_id uuid, p_email text)
returns bytea
language plpgsql
volatile
security definer
set search_path = ''
as $$
begin
  if kanta.normalise_email(p_email) is null then
    return null;
  end if;
  return kanta.hmac_sha256(kanta.trace_key(p_business_id), convert_to(kanta.normalise_email(p_email), 'UTF8'));
end
$$;

-- =============================================================================================
-- Section - Referral codes
-- =============================================================================================
create or replace function kanta.new_referral_code()
returns text
language sql
volatile
set search_path = ''
as $$
  select kanta.unused_code('R', 7, 'members', 'referral_code')
$$;

create or replace function kanta.assign_referral_code()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.referral_code is null then
    new.referral_code := kanta.new_referral_code();
  end if;
  return new;
end
$$;

create trigger members_referral_code before insert on kanta.members
  for each row execute function kanta.assign_referral_code();

create unique index if not exists members_referral_code_key on kanta.members (referral_code);

-- =============================================================================================
-- Section - Referrals
-- =============================================================================================
create table if not exists kanta.referrals (
  id uuid primary key default gen_random_uuid(),
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  referrer_member_id uuid not null references kanta.members (id) on delete cascade,
  -- One referrer per referee.
  referee_member_id uuid not null unique references kanta.members (id) on delete cascade,
  status text not null default 'pending',
  created_at timestamptz not null default now(),
  rewarded_at timestamptz,
  purchase_id uuid references kanta.purchases (id) on delete set null,
  voucher_id uuid references kanta.vouchers (id) on delete set null,
  constraint referrals_status check (status in ('pending', 'rewarded')),
  constraint referrals_not_self check (referrer_member_id <> referee_member_id)
);

create index if not exists referrals_referrer_idx on kanta.referrals (referrer_member_id, created_at);

alter table kanta.referrals enable row level security;

revoke all on kanta.referrals from anon, authenticated, public;

grant select on kanta.referrals to authenticated;

create policy "Referrals are viewable by the referrer and the business's staff" on kanta.referrals
  for select to authenticated using (kanta.can_see_member(referrer_member_id));

-- The referee's first qualifying purchase grants both rewards, exactly once: the pending row is
-- claimed by a single UPDATE; the referee gets the welcome voucher, the referrer the reward (a
-- deleted referrer's card gets nothing).
create or replace function kanta.complete_referral()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_program kanta.programs;
  v_referral kanta.referrals;
  v_voucher kanta.vouchers;
  v_welcome kanta.vouchers;
begin
  if new.member_id is null then
    return new;
  end if;
  select * into v_program from kanta.programs where business_id = new.business_id;
  if new.amount_cents < v_program.referral_min_cents then
    return new;
  end if;
  update kanta.referrals set status = 'rewarded', rewarded_at = new.created_at, purchase_id = new.id
  where referee_member_id = new.member_id and status = 'pending'
  returning * into v_referral;
  if v_referral.id is null then
    return new;
  end if;
  v_welcome := kanta.issue_voucher(new.member_id, 'welcome', v_program.referral_welcome_reward,
                                   'referral:' || v_referral.id || '#welcome');
  perform kanta.notify('member:' || new.member_id, 'voucher_issued', jsonb_build_object('voucher_id', v_welcome.id));
  if exists (select 1 from kanta.members where id = v_referral.referrer_member_id and deleted_at is null) then
    v_voucher := kanta.issue_voucher(v_referral.referrer_member_id, 'referral', v_program.referral_referrer_reward,
                                     'referral:' || v_referral.id);
    update kanta.referrals set voucher_id = v_voucher.id where id = v_referral.id;
    perform kanta.notify('member:' || v_referral.referrer_member_id, 'referral_rewarded',
                         jsonb_build_object('voucher_id', v_voucher.id));
  end if;
  return new;
end
$$;

create trigger purchases_complete_referral after insert on kanta.purchases
  for each row execute function kanta.complete_referral();

-- PL/pgSQL keeps this plan between calls; a SQL body with SET is planned at every call (hot paths at
-- 100k members: record_purchase 5.15 -> 3.36 ms, my_card 3.80 -> 1.21 ms a call).
create or replace function kanta.referral_card(p_member_id uuid)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
begin
  return (
    select jsonb_build_object('referral', jsonb_build_object(
      'code', m.referral_code,
      -- Invitations count when accepted (a join through the code): opening the link counts
      -- nothing, so no loop of anonymous previews can inflate it.
      'invited', (select count(*) from kanta.referrals r where r.referrer_member_id = m.id),
      'joined', (select count(*) from kanta.referrals r where r.referrer_member_id = m.id),
      'rewarded', (select count(*) from kanta.referrals r where r.referrer_member_id = m.id and r.status = 'rewarded'),
      'pending', (select count(*) from kanta.referrals r where r.referrer_member_id = m.id and r.status = 'pending'),
      'welcome_reward', p.referral_welcome_reward,
      'referrer_reward', p.referral_referrer_reward,
      -- The card's own welcome gift when it joined through a friend's code: pending until the
      -- first qualifying purchase (no voucher exists before it), then issued.
      'welcome', (select jsonb_build_object(
                    'title', p.referral_welcome_reward, 'min_cents', p.referral_min_cents,
                    'status', case r.status when 'pending' then 'pending' when 'rewarded' then 'issued' else r.status end)
                  from kanta.referrals r where r.referee_member_id = m.id)
    ))
    from kanta.members m
    join kanta.programs p on p.business_id = m.business_id
    where m.id = p_member_id
  );
end
$$;

-- =============================================================================================
-- Section - Public functions
-- =============================================================================================

-- What a shared link shows before anyone signs in: the café, the offer on both sides, and the
-- inviter's first name only. It writes nothing: anyone may call it, as often as they like.
create or replace function public.referral_preview(p_code text)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_member kanta.members;
  v_business kanta.businesses;
  v_program kanta.programs;
begin
  select * into v_member from kanta.members
  where referral_code = upper(btrim(coalesce(p_code, ''))) and deleted_at is null;
  if v_member.id is null then
    perform kanta.fail('referral_code_unknown', 'not_found');
  end if;
  select * into v_business from kanta.businesses where id = v_member.business_id;
  select * into v_program from kanta.programs where business_id = v_member.business_id;
  return jsonb_build_object(
    'code', v_member.referral_code,
    'business_name', v_business.name,
    'business_slug', v_business.slug,
    'color', v_business.color,
    'welcome_reward', v_program.referral_welcome_reward,
    'referrer_reward', v_program.referral_referrer_reward,
    'inviter_first_name', nullif(split_part(btrim(coalesce(v_member.display_name, '')), ' ', 1), '')
  );
end
$$;
revoke execute on function public.referral_preview(text) from public;
grant execute on function public.referral_preview(text) to anon, authenticated, service_role;

-- Joins the signed-in customer. With a friend's code, the referral is recorded only for someone
-- new to the business: an e-mail (normalised) that has never been a member here, by the keyed
-- trace. A former member still joins, without the referral (`referral_refused: not_new`). The
-- welcome gift waits for the first qualifying purchase (kanta.complete_referral).
create or replace function public.join_business(p_slug text, p_display_name text default null,
                                                p_referral_code text default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := kanta.require_user();
  v_now timestamptz := kanta.now();
  v_email text := kanta.normalise_email(auth.email());
  v_trace bytea;
  v_business kanta.businesses;
  v_program kanta.programs;
  v_member kanta.members;
  v_referrer kanta.members;
  v_code text := nullif(upper(btrim(coalesce(p_referral_code, ''))), '');
  v_new boolean := false;
  v_first boolean := false;
  v_refused text;
  v_referred boolean := false;
begin
  select * into v_business from kanta.businesses where slug = p_slug;
  if v_business.id is null then
    perform kanta.fail('business_not_found', 'not_found');
  end if;
  if p_display_name is not null and length(p_display_name) > 80 then
    perform kanta.fail('invalid_display_name');
  end if;
  select * into v_program from kanta.programs where business_id = v_business.id;
  v_trace := kanta.email_trace(v_business.id, auth.email());

  if v_code is not null then
    select * into v_referrer from kanta.members
    where referral_code = v_code and business_id = v_business.id and deleted_at is null;
    if v_referrer.id is null then
      perform kanta.fail('referral_code_unknown', 'not_found');
    end if;
    if v_referrer.user_id = v_uid
       or exists (select 1 from auth.users u
                  where u.id = v_referrer.user_id and kanta.normalise_email(u.email) = v_email) then
      perform kanta.fail('self_referral');
    end if;
    if exists (select 1 from kanta.members where business_id = v_business.id and user_id = v_uid) then
      perform kanta.fail('already_member', 'conflict');
    end if;
    if v_trace is null
       or exists (select 1 from kanta.member_traces where business_id = v_business.id and email_hmac = v_trace) then
      v_refused := 'not_new';
    else
      -- The cap counts this calendar month on the café's calendar; the referrer's row lock keeps
      -- two joins from both taking the last place.
      perform 1 from kanta.members where id = v_referrer.id for update;
      if (select count(*) from kanta.referrals r
          where r.referrer_member_id = v_referrer.id
            and date_trunc('month', r.created_at at time zone v_business.timezone)
                = date_trunc('month', v_now at time zone v_business.timezone)) >= v_program.referral_monthly_cap then
        perform kanta.fail('referral_cap_reached', 'conflict');
      end if;
    end if;
  end if;

  insert into kanta.members (business_id, user_id, display_name, member_number, joined_at)
  values (v_business.id, v_uid, nullif(btrim(p_display_name), ''), kanta.new_member_number(v_business.id), v_now)
  on conflict (business_id, user_id) do nothing
  returning * into v_member;
  if v_member.id is null then
    select * into v_member from kanta.members where business_id = v_business.id and user_id = v_uid;
  else
    v_new := true;
    -- The trace's primary key decides who is first, also when two logins of one person join at once.
    if v_trace is not null then
      insert into kanta.member_traces (business_id, email_hmac, first_joined_at)
      values (v_business.id, v_trace, v_now)
      on conflict (business_id, email_hmac) do nothing;
      v_first := found;
    end if;
    if v_referrer.id is not null and v_refused is null and not v_first then
      v_refused := 'not_new';
    end if;
    if v_referrer.id is not null and v_refused is null then
      insert into kanta.referrals (business_id, referrer_member_id, referee_member_id, created_at)
      values (v_business.id, v_referrer.id, v_member.id, v_now);
      v_referred := true;
      perform kanta.notify('member:' || v_referrer.id, 'referral_joined', jsonb_build_object('member_id', v_member.id));
    end if;
    perform kanta.notify('business:' || v_business.id, 'member_joined', jsonb_build_object('member_id', v_member.id));
  end if;

  return jsonb_build_object(
    'member_id', v_member.id, 'business_id', v_business.id, 'business_name', v_business.name,
    'member_number', v_member.member_number, 'joined_at', v_member.joined_at, 'new', v_new,
    'welcome_pending', case when v_referred then jsonb_build_object(
      'title', v_program.referral_welcome_reward, 'min_cents', v_program.referral_min_cents) end,
    'referred_by', case when v_referred then
      nullif(split_part(btrim(coalesce(v_referrer.display_name, '')), ' ', 1), '') end,
    'referral_refused', case when v_new then v_refused end
  );
end
$$;
revoke execute on function public.join_business(text, text, text) from public, anon;
grant execute on function public.join_business(text, text, text) to authenticated, service_role;

-- The counter's answer looks up the referral a purchase completed, by the purchase.
create index if not exists referrals_purchase_idx on kanta.referrals (purchase_id) where purchase_id is not null;

-- =============================================================================================
-- Section - A referral reversed by a refund
-- Refunding the purchase that completed a referral reverses it for good: the referrer's reward
-- voucher is voided while unused; one already used cannot be taken back, so it is recorded here
-- (reward_used) and in the audit log, never as a negative balance. A reversed referral is not
-- completed again by the referee's later purchases (it is no longer pending).
-- =============================================================================================
create table if not exists kanta.referral_reversals (
  referral_id uuid primary key references kanta.referrals (id) on delete cascade,
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  purchase_id uuid references kanta.purchases (id) on delete set null,
  voucher_id uuid references kanta.vouchers (id) on delete set null,
  reward_used boolean not null,
  created_by uuid,
  created_at timestamptz not null default now()
);

create index if not exists referral_reversals_business_idx on kanta.referral_reversals (business_id, created_at);

create index if not exists referral_reversals_purchase_idx on kanta.referral_reversals (purchase_id);

create index if not exists referral_reversals_voucher_idx on kanta.referral_reversals (voucher_id);

alter table kanta.referral_reversals enable row level security;

revoke all on kanta.referral_reversals from anon, authenticated, public;

-- Called by refund_purchase (31_counter.sql) under the refund's locks; p_key is the refund's
-- idempotency key. Returns {"referral_reversed": {"voucher_code", "voided"}}, or null when the
-- purchase completed no referral.
create or replace function kanta.reverse_referral(p_purchase_id uuid, p_key text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_referral kanta.referrals;
  v_voucher kanta.vouchers;
  v_voided boolean := false;
begin
  select * into v_referral from kanta.referrals where purchase_id = p_purchase_id for update;
  if v_referral.id is null or exists (select 1 from kanta.referral_reversals x where x.referral_id = v_referral.id) then
    return null;
  end if;
  -- The voucher's row lock orders this against a tablet redeeming it at the same moment.
  select * into v_voucher from kanta.vouchers where id = v_referral.voucher_id for update;
  if v_voucher.status = 'active' then
    update kanta.vouchers set status = 'void' where id = v_voucher.id;
    insert into kanta.ledger (business_id, member_id, kind, purchase_id, voucher_id, idempotency_key, created_by,
                              created_at, note)
    values (v_referral.business_id, v_voucher.member_id, 'reversal', p_purchase_id, v_voucher.id, p_key || '#referral',
            auth.uid(), kanta.now(), 'referral reward voided: the referee''s purchase was refunded');
    v_voided := true;
  end if;
  insert into kanta.referral_reversals (referral_id, business_id, purchase_id, voucher_id, reward_used, created_by,
                                        created_at)
  values (v_referral.id, v_referral.business_id, p_purchase_id, v_voucher.id, coalesce(v_voucher.status = 'redeemed', false),
          auth.uid(), kanta.now());
  perform kanta.audit(v_referral.business_id, 'referral_reversed', v_referral.id::text,
                      jsonb_build_object('purchase_id', p_purchase_id, 'voucher_code', v_voucher.code,
                                         'reward_used', coalesce(v_voucher.status = 'redeemed', false)));
  if v_voided then
    perform kanta.notify('member:' || v_referral.referrer_member_id, 'referral_reversed',
                         jsonb_build_object('voucher_id', v_voucher.id));
  end if;
  return jsonb_build_object('referral_reversed', jsonb_build_object('voucher_code', v_voucher.code, 'voided', v_voided));
end
$$;
