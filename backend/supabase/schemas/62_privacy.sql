-- Privacy: download my data, delete my account. Deleting keeps only anonymous ledger amounts,
-- so the shop's totals stay right, and the keyed e-mail trace (40_referrals.sql) that keeps a
-- re-joining member from counting as new. A deleted card is never identified again and takes no
-- purchase.

-- =============================================================================================
-- Section - Deleted cards
-- =============================================================================================
-- An owner's text about a member (a VIP note, a granted reward's title) can be copied into the
-- audit log's details and the stored answers of kanta.operations. What a deleted member leaves
-- there keeps its ids, amounts, times and voucher codes; every other string, and anything that
-- names them (p_needles: their e-mail, name, member number), is dropped, and `redacted` says so.
create or replace function kanta.without_free_text(p_doc jsonb, p_needles text[])
returns jsonb
language plpgsql
immutable
set search_path = ''
as $$
begin
  if p_doc is null or jsonb_typeof(p_doc) <> 'object' then
    return p_doc;
  end if;
  return (
    select coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb) || jsonb_build_object('redacted', true)
    from jsonb_each(p_doc) e
    where not exists (select 1 from unnest(p_needles) n
                      where strpos(lower(e.value::text), lower(n)) > 0)
      and (jsonb_typeof(e.value) <> 'string'
           or e.value #>> '{}' ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
           or e.value #>> '{}' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+([+-][0-9]{2}(:[0-9]{2})?|Z)?)?$'
           or e.value #>> '{}' ~ '^V[2-9A-Z]{8}$')
  );
end
$$;

-- No purchase on a deleted card, whoever writes it. On the purchase's path, so without SET or
-- SECURITY DEFINER, like kanta.purchases_before (30_ledger.sql); every name is qualified.
create or replace function kanta.refuse_deleted_card()
returns trigger
language plpgsql
as $$
begin
  if exists (select 1 from kanta.members m where m.id = new.member_id and m.deleted_at is not null) then
    perform kanta.fail('member_not_found', 'not_found');
  end if;
  return new;
end
$$;

create trigger purchases_refuse_deleted_card before insert on kanta.purchases
  for each row when (new.member_id is not null) execute function kanta.refuse_deleted_card();

-- Nor a voucher (a granted reward), nor a new VIP grant with its note: the owner's tools find
-- the card by its id, so the refusal lives on the rows themselves.
create trigger vouchers_refuse_deleted_card before insert on kanta.vouchers
  for each row execute function kanta.refuse_deleted_card();

create or replace function kanta.refuse_vip_on_deleted_card()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  perform kanta.fail('member_not_found', 'not_found');
  return new;
end
$$;

create trigger members_refuse_vip_when_deleted before update of vip_until, vip_note on kanta.members
  for each row when (old.deleted_at is not null and (new.vip_until is not null or new.vip_note is not null))
  execute function kanta.refuse_vip_on_deleted_card();

-- =============================================================================================
-- Section - Public functions
-- =============================================================================================

-- Everything stored about me, as JSON: every column of each of my member rows and every row
-- that points at them.
create or replace function public.export_my_data()
returns jsonb
language plpgsql
stable
security definer
set search_path = ''
as $$
declare
  v_uid uuid := kanta.require_user();
begin
  return jsonb_build_object(
    'exported_at', kanta.now(),
    -- The keyed traces of my e-mail, one per business I have joined (kept after deletion, for
    -- fraud prevention): the fingerprint itself, which no one can turn back into the address.
    'member_traces', coalesce((
      select jsonb_agg(jsonb_build_object('business', b.name, 'email_hmac', encode(t.email_hmac, 'hex'),
                                          'first_joined_at', t.first_joined_at, 'purpose', 'fraud_prevention')
                       order by t.first_joined_at)
      from kanta.member_traces t
      join kanta.trace_keys k on k.business_id = t.business_id
      join kanta.businesses b on b.id = t.business_id
      where t.email_hmac = kanta.hmac_sha256(k.secret, convert_to(kanta.normalise_email(auth.email()), 'UTF8'))
    ), '[]'::jsonb),
    'account', (select jsonb_build_object('id', u.id, 'email', u.email, 'created_at', u.created_at,
                                          'last_sign_in_at', u.last_sign_in_at)
                from auth.users u where u.id = v_uid),
    'staff_of', coalesce((select jsonb_agg(to_jsonb(s)) from kanta.staff s where s.user_id = v_uid), '[]'::jsonb),
    'cards', coalesce((
      select jsonb_agg(jsonb_build_object(
        'business', b.name,
        'members', to_jsonb(m),
        'purchases', coalesce((select jsonb_agg(to_jsonb(x) order by x.created_at) from kanta.purchases x
                               where x.member_id = m.id), '[]'::jsonb),
        'ledger', coalesce((select jsonb_agg(to_jsonb(x) order by x.id) from kanta.ledger x
                            where x.member_id = m.id), '[]'::jsonb),
        'vouchers', coalesce((select jsonb_agg(to_jsonb(x) order by x.issued_at) from kanta.vouchers x
                              where x.member_id = m.id), '[]'::jsonb),
        'messages', coalesce((select jsonb_agg(to_jsonb(x) order by x.id) from kanta.messages x
                              where x.member_id = m.id), '[]'::jsonb),
        'feedback', coalesce((select jsonb_agg(to_jsonb(x) order by x.created_at) from kanta.feedback x
                              where x.member_id = m.id), '[]'::jsonb),
        'reservations', coalesce((select jsonb_agg(to_jsonb(x) order by x.created_at) from kanta.reservations x
                                  where x.member_id = m.id), '[]'::jsonb),
        'referrals', coalesce((select jsonb_agg(to_jsonb(x) order by x.created_at) from kanta.referrals x
                               where x.referrer_member_id = m.id or x.referee_member_id = m.id), '[]'::jsonb),
        'member_tokens', coalesce((select jsonb_agg(to_jsonb(x) order by x.expires_at)
                                   from kanta.member_tokens x where x.member_id = m.id), '[]'::jsonb)
      ) order by m.joined_at)
      from kanta.members m join kanta.businesses b on b.id = m.business_id
      where m.user_id = v_uid
    ), '[]'::jsonb)
  );
end
$$;
revoke execute on function public.export_my_data() from public, anon;
grant execute on function public.export_my_data() to authenticated, service_role;

-- Removes or anonymises every personal detail, revokes QR tokens and deletes the login. The
-- member rows stay, nameless, so purchases and the ledger keep the shop's totals right. The card
-- is marked deleted: its member number is replaced by one that is not a number (never found
-- again), its unused vouchers are void, and the owner's text about it is scrubbed from granted
-- rewards' titles, the audit log and the stored answers (kanta.without_free_text).
create or replace function public.delete_my_account()
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := kanta.require_user();
  v_now timestamptz := kanta.now();
  v_cards integer;
  v_member kanta.members;
  v_needles text[];
begin
  if exists (select 1 from kanta.staff where user_id = v_uid and role = 'owner') then
    perform kanta.fail('owner_cannot_delete', 'conflict');
  end if;
  for v_member in select * from kanta.members where user_id = v_uid for update loop
    -- What names them, long enough not to match other members' rows by chance.
    v_needles := array(select distinct n from unnest(array[
      (select u.email from auth.users u where u.id = v_uid), kanta.normalise_email(auth.email()),
      btrim(v_member.display_name), v_member.member_number]) n where length(n) >= 4);
    update kanta.vouchers set status = 'void' where member_id = v_member.id and status = 'active';
    update kanta.vouchers set title = '-' where member_id = v_member.id and kind = 'grant';
    update kanta.audit_log a set detail = kanta.without_free_text(a.detail, v_needles)
    where a.business_id = v_member.business_id
      and (a.target in (v_member.id::text, 'member:' || v_member.id)
           or exists (select 1 from unnest(v_needles) n where strpos(lower(a.detail::text), lower(n)) > 0));
    update kanta.operations o set response = kanta.without_free_text(o.response, v_needles)
    where o.business_id = v_member.business_id and o.response is not null
      and (o.response ->> 'member_id' = v_member.id::text
           or exists (select 1 from unnest(v_needles) n where strpos(lower(o.response::text), lower(n)) > 0));
  end loop;
  delete from kanta.member_tokens t using kanta.members m where t.member_id = m.id and m.user_id = v_uid;
  delete from kanta.messages x using kanta.members m where x.member_id = m.id and m.user_id = v_uid;
  update kanta.feedback f set comment = null, reply = null from kanta.members m
  where f.member_id = m.id and m.user_id = v_uid;
  update kanta.members set
    display_name = null, phone = null, birthday = null, birthday_set_at = null,
    marketing_consent = false, consent_at = null, vip_note = null,
    referral_code = kanta.new_referral_code(),
    member_number = 'D' || replace(id::text, '-', ''),
    deleted_at = v_now,
    user_id = null
  where user_id = v_uid;
  get diagnostics v_cards = row_count;
  delete from kanta.staff where user_id = v_uid;
  delete from auth.users where id = v_uid;
  return jsonb_build_object('deleted', true, 'cards_anonymised', v_cards);
end
$$;
revoke execute on function public.delete_my_account() from public, anon;
grant execute on function public.delete_my_account() to authenticated, service_role;
