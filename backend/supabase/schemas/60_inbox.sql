-- The member's profile and consent, the inbox, the owner's messages, and the daily automations.
-- Messages are stored as a kind plus data; the app renders them in the reader's language.
-- Marketing messages need recorded consent; transactional ones do not.

-- =============================================================================================
-- Section - Profile and consent
-- =============================================================================================
-- Change any of display_name, phone, birthday, marketing_consent on my own card.
create or replace function public.update_my_profile(p_member_id uuid, p_changes jsonb)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := kanta.require_user();
  v_now timestamptz := kanta.now();
  v_member kanta.members;
  v_key text;
  v_birthday date;
begin
  select * into v_member from kanta.members where id = p_member_id and user_id = v_uid for update;
  if v_member.id is null then
    perform kanta.fail('member_not_found', 'not_found');
  end if;
  if p_changes is null or jsonb_typeof(p_changes) <> 'object' then
    perform kanta.fail('invalid_settings');
  end if;
  for v_key in select jsonb_object_keys(p_changes) loop
    if v_key not in ('display_name', 'phone', 'birthday', 'marketing_consent') then
      perform kanta.fail('unknown_setting', 'invalid', v_key);
    end if;
  end loop;
  if p_changes ? 'birthday' and jsonb_typeof(p_changes -> 'birthday') <> 'null' then
    begin
      v_birthday := (p_changes ->> 'birthday')::date;
    exception when others then
      perform kanta.fail('invalid_birthday');
    end;
    if v_birthday > (v_now)::date or v_birthday < date '1900-01-01' then
      perform kanta.fail('invalid_birthday');
    end if;
  end if;
  if p_changes ? 'marketing_consent' and jsonb_typeof(p_changes -> 'marketing_consent') <> 'boolean' then
    perform kanta.fail('invalid_settings', 'invalid', 'marketing_consent');
  end if;
  begin
    update kanta.members set
      display_name = case when p_changes ? 'display_name' then nullif(btrim(p_changes ->> 'display_name'), '')
                          else display_name end,
      phone = case when p_changes ? 'phone' then nullif(btrim(p_changes ->> 'phone'), '') else phone end,
      birthday = case when p_changes ? 'birthday' then v_birthday else birthday end,
      -- When the birthday was entered decides whether this year's is rewarded (the 30-day rule).
      birthday_set_at = case when p_changes ? 'birthday' and v_birthday is distinct from birthday then v_now
                             else birthday_set_at end,
      marketing_consent = case when p_changes ? 'marketing_consent' then (p_changes ->> 'marketing_consent')::boolean
                               else marketing_consent end,
      consent_at = case when p_changes ? 'marketing_consent'
                             and (p_changes ->> 'marketing_consent')::boolean is distinct from marketing_consent
                        then v_now else consent_at end
    where id = v_member.id
    returning * into v_member;
  exception when check_violation then
    perform kanta.fail(case when sqlerrm like '%phone%' then 'invalid_phone' else 'invalid_display_name' end);
  end;
  return jsonb_build_object('member_id', v_member.id, 'display_name', v_member.display_name, 'phone', v_member.phone,
                            'birthday', v_member.birthday, 'marketing_consent', v_member.marketing_consent,
                            'consent_at', v_member.consent_at);
end
$$;
revoke execute on function public.update_my_profile(uuid, jsonb) from public, anon;
grant execute on function public.update_my_profile(uuid, jsonb) to authenticated, service_role;

-- =============================================================================================
-- Section - Messages
-- =============================================================================================
create table if not exists kanta.messages (
  id bigint generated always as identity primary key,
  business_id uuid not null references kanta.businesses (id) on delete cascade,
  member_id uuid not null references kanta.members (id) on delete cascade,
  kind text not null,
  marketing boolean not null,
  title text,
  body text,
  data jsonb not null default '{}'::jsonb,
  -- Each automation message has a key that makes a second run a no-op.
  dedupe_key text not null,
  created_at timestamptz not null default now(),
  read_at timestamptz,
  unique (member_id, dedupe_key),
  constraint messages_kind check (kind in ('welcome', 'thank_you', 'near_reward', 'birthday', 'win_back', 'vip_drop',
                                           'owner', 'feedback_reply')),
  constraint messages_text check (coalesce(length(title), 0) <= 120 and coalesce(length(body), 0) <= 2000)
);

create index if not exists messages_member_idx on kanta.messages (member_id, id desc);

alter table kanta.messages enable row level security;

revoke all on kanta.messages from anon, authenticated, public;

grant select on kanta.messages to authenticated;

create policy "Messages are viewable by their member" on kanta.messages
  for select to authenticated
  using (exists (select 1 from kanta.members m where m.id = messages.member_id and m.user_id = (select auth.uid())));

-- Send one message unless its key was used; marketing ones only with consent. True if sent.
create or replace function kanta.send(p_member_id uuid, p_kind text, p_marketing boolean, p_key text,
                                      p_data jsonb default '{}'::jsonb, p_title text default null,
                                      p_body text default null)
returns boolean
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_member kanta.members;
  v_id bigint;
begin
  select * into v_member from kanta.members where id = p_member_id;
  if v_member.user_id is null or (p_marketing and not v_member.marketing_consent) then
    return false;
  end if;
  insert into kanta.messages (business_id, member_id, kind, marketing, title, body, data, dedupe_key, created_at)
  values (v_member.business_id, v_member.id, p_kind, p_marketing, p_title, p_body, coalesce(p_data, '{}'::jsonb),
          p_key, kanta.now())
  on conflict (member_id, dedupe_key) do nothing
  returning id into v_id;
  if v_id is not null then
    perform kanta.notify('member:' || v_member.id, 'message', jsonb_build_object('message_id', v_id));
  end if;
  return v_id is not null;
end
$$;

-- =============================================================================================
-- Section - Automation rules
-- =============================================================================================
-- This year's birthday; 29 February falls on 28 February in common years.
create or replace function kanta.birthday_in_year(p_birthday date, p_year integer)
returns date
language sql
immutable
set search_path = ''
as $$
  select make_date(p_year, extract(month from p_birthday)::int,
                   least(extract(day from p_birthday)::int,
                         extract(day from (make_date(p_year, extract(month from p_birthday)::int, 1)
                                           + interval '1 month - 1 day'))::int))
$$;

-- At risk: at least 3 visits, and the days since the last one exceed k times the member's own
-- typical gap between visits.
-- Only pg_catalog functions inside: no search_path, and without SET Postgres inlines it (a
-- function with SET is called once per row: 70k calls cost churn_risk 230 ms).
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

-- Every automation, for every business, as of p_now, then the new day's RFM scores
-- (kanta.ensure_scores, 65_insights.sql). Running it again the same day sends nothing twice. For
-- the service role (a scheduler); returns how many of each kind went out.
create or replace function public.run_automations(p_now timestamptz default null)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_now timestamptz := coalesce(p_now, kanta.now());
  v_sent jsonb := '{}'::jsonb;
  v_row record;
  v_count integer;
  v_voucher kanta.vouchers;
begin
  -- Everything this run writes is dated p_now (messages, vouchers), as if run at that moment.
  perform set_config('kanta.clock', v_now::text, true);

  -- Welcome (transactional)
  select count(*) filter (where kanta.send(m.id, 'welcome', false, 'welcome',
                                           jsonb_build_object('business_name', b.name)))
  into v_count
  from kanta.members m join kanta.businesses b on b.id = m.business_id
  where m.user_id is not null and m.joined_at <= v_now
    and not exists (select 1 from kanta.messages x where x.member_id = m.id and x.dedupe_key = 'welcome');
  v_sent := v_sent || jsonb_build_object('welcome', v_count);

  -- Thank-you after a purchase in the last two days (transactional)
  select count(*) filter (where kanta.send(p.member_id, 'thank_you', false, 'thanks:' || p.id,
                                           jsonb_build_object('purchase_id', p.id, 'amount_cents', p.amount_cents,
                                                              'points', p.points)))
  into v_count
  from kanta.purchases p
  where p.member_id is not null and p.refunded_at is null
    and p.created_at > v_now - interval '2 days' and p.created_at <= v_now
    and not exists (select 1 from kanta.messages x where x.member_id = p.member_id and x.dedupe_key = 'thanks:' || p.id);
  v_sent := v_sent || jsonb_build_object('thank_you', v_count);

  -- Near the reward: 80 % of the card or more, once per card (transactional)
  select count(*) filter (where kanta.send(m.id, 'near_reward', false, 'near:' || cards.done,
                                           jsonb_build_object('stamps', m.stamps, 'stamps_per_card', pr.stamps_per_card,
                                                              'to_go', pr.stamps_per_card - m.stamps,
                                                              'reward', pr.stamp_reward)))
  into v_count
  from kanta.members m
  join kanta.programs pr on pr.business_id = m.business_id
  cross join lateral (select count(*) as done from kanta.vouchers v
                      where v.member_id = m.id and v.kind = 'stamp_card') cards
  where m.user_id is not null and m.stamps * 10 >= pr.stamps_per_card * 8 and m.stamps < pr.stamps_per_card;
  v_sent := v_sent || jsonb_build_object('near_reward', v_count);

  -- Birthday, with a voucher, once a year; not for a birthday entered fewer than 30 days before
  -- it falls (marketing). "Today" is the café's date.
  v_count := 0;
  for v_row in
    select m.id as member_id, extract(year from (v_now at time zone b.timezone))::int as year, pr.birthday_reward
    from kanta.members m
    join kanta.businesses b on b.id = m.business_id
    join kanta.programs pr on pr.business_id = m.business_id
    where m.birthday is not null and m.user_id is not null and m.marketing_consent
      and kanta.birthday_in_year(m.birthday, extract(year from (v_now at time zone b.timezone))::int)
          = (v_now at time zone b.timezone)::date
      and (m.birthday_set_at at time zone b.timezone)::date
          <= (v_now at time zone b.timezone)::date - 30
  loop
    if kanta.send(v_row.member_id, 'birthday', true, 'birthday:' || v_row.year,
                  jsonb_build_object('reward', v_row.birthday_reward)) then
      v_voucher := kanta.issue_voucher(v_row.member_id, 'birthday', v_row.birthday_reward,
                                       'birthday:' || v_row.member_id || ':' || v_row.year);
      update kanta.messages set data = data || jsonb_build_object('voucher_code', v_voucher.code)
      where member_id = v_row.member_id and dedupe_key = 'birthday:' || v_row.year;
      v_count := v_count + 1;
    end if;
  end loop;
  v_sent := v_sent || jsonb_build_object('birthday', v_count);

  -- Win-back for members at risk, at most once per 60 days (marketing)
  select count(*) filter (where kanta.send(m.id, 'win_back', true,
                                           'winback:' || ((v_now at time zone b.timezone)::date)::text,
                                           jsonb_build_object('days_away', extract(day from v_now - m.last_visit_at)::int)))
  into v_count
  from kanta.members m join kanta.businesses b on b.id = m.business_id
  where m.user_id is not null and m.marketing_consent
    and kanta.is_at_risk(m.visits, m.first_visit_at, m.last_visit_at, v_now)
    and not exists (select 1 from kanta.messages x where x.member_id = m.id and x.kind = 'win_back'
                    and x.created_at > v_now - interval '60 days');
  v_sent := v_sent || jsonb_build_object('win_back', v_count);

  -- A drop's VIP window has opened (marketing, VIP members only)
  select count(*) filter (where kanta.send(m.id, 'vip_drop', true, 'drop:' || d.id,
                                           jsonb_build_object('drop_id', d.id, 'title', d.title,
                                                              'public_starts_at', d.public_starts_at)))
  into v_count
  from kanta.drops d
  join kanta.members m on m.business_id = d.business_id
  where d.vip_starts_at <= v_now and v_now < d.public_starts_at
    and m.user_id is not null and m.marketing_consent and kanta.is_vip(m.id, v_now);
  v_sent := v_sent || jsonb_build_object('vip_drop', v_count);

  -- The segments an owner sees are as of the start of the café's day: score it now.
  perform kanta.ensure_scores(b.id, v_now) from kanta.businesses b;
  return v_sent;
end
$$;
revoke execute on function public.run_automations(timestamptz) from public, anon, authenticated;
grant execute on function public.run_automations(timestamptz) to service_role;

-- =============================================================================================
-- Section - Public functions: inbox
-- =============================================================================================
create or replace function public.my_inbox(p_member_id uuid, p_before bigint default null, p_limit integer default 30)
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_rows jsonb;
begin
  if not exists (select 1 from kanta.members where id = p_member_id and user_id = kanta.require_user()) then
    perform kanta.fail('member_not_found', 'not_found');
  end if;
  if p_limit is null or p_limit not between 1 and 100 then
    perform kanta.fail('invalid_page_size');
  end if;
  select coalesce(jsonb_agg(jsonb_build_object('id', x.id, 'kind', x.kind, 'title', x.title, 'body', x.body,
                                               'data', x.data, 'created_at', x.created_at, 'read', x.read_at is not null)
                            order by x.id desc), '[]'::jsonb)
  into v_rows
  from (select * from kanta.messages where member_id = p_member_id and (p_before is null or id < p_before)
        order by id desc limit p_limit) x;
  return jsonb_build_object(
    'messages', v_rows,
    'unread', (select count(*) from kanta.messages where member_id = p_member_id and read_at is null),
    'next_before', case when jsonb_array_length(v_rows) = p_limit then (v_rows -> -1 ->> 'id')::bigint end);
end
$$;
revoke execute on function public.my_inbox(uuid, bigint, integer) from public, anon;
grant execute on function public.my_inbox(uuid, bigint, integer) to authenticated, service_role;

create or replace function public.mark_message_read(p_message_id bigint)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_id bigint;
begin
  update kanta.messages x set read_at = coalesce(x.read_at, kanta.now())
  from kanta.members m
  where x.id = p_message_id and m.id = x.member_id and m.user_id = kanta.require_user()
  returning x.id into v_id;
  if v_id is null then
    perform kanta.fail('message_not_found', 'not_found');
  end if;
  return jsonb_build_object('id', v_id, 'read', true);
end
$$;
revoke execute on function public.mark_message_read(bigint) from public, anon;
grant execute on function public.mark_message_read(bigint) to authenticated, service_role;

-- The owner writes to one member ("member:<id>"), everyone ("all"), VIPs ("vip") or a tier
-- ("tier:<name>"). Marketing: only members who consented receive it.
create or replace function public.send_message(p_business_id uuid, p_target text, p_title text, p_body text)
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_key text := 'owner:' || gen_random_uuid();
  v_target text := btrim(coalesce(p_target, ''));
  v_count integer;
begin
  perform kanta.require_staff(p_business_id, 'owner');
  if p_title is null or length(btrim(p_title)) not between 1 and 120 or p_body is null or length(p_body) > 2000 then
    perform kanta.fail('invalid_message');
  end if;
  if not (v_target in ('all', 'vip') or v_target like 'tier:%' or v_target ~ '^member:[0-9a-f-]{36}$') then
    perform kanta.fail('invalid_target');
  end if;
  select count(*) filter (where kanta.send(m.id, 'owner', true, v_key, '{}'::jsonb, btrim(p_title), p_body))
  into v_count
  from kanta.members m
  where m.business_id = p_business_id
    and case
      when v_target = 'all' then true
      when v_target = 'vip' then kanta.is_vip(m.id, kanta.now())
      when v_target like 'tier:%' then kanta.member_tier(m.id, kanta.now()) ->> 'name' = substr(v_target, 6)
      else m.id::text = substr(v_target, 8)
    end;
  -- Not the text: an owner may write a member's name in it, and the audit log outlives accounts.
  perform kanta.audit(p_business_id, 'message_sent', v_target, jsonb_build_object('sent', v_count));
  return jsonb_build_object('sent', v_count);
end
$$;
revoke execute on function public.send_message(uuid, text, text, text) from public, anon;
grant execute on function public.send_message(uuid, text, text, text) to authenticated, service_role;
