-- Privacy: download my data, delete my account. Deleting keeps only anonymous ledger amounts,
-- so the shop's totals stay right.

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
-- member rows stay, nameless, so purchases and the ledger keep the shop's totals right.
create or replace function public.delete_my_account()
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  v_uid uuid := kanta.require_user();
  v_cards integer;
begin
  if exists (select 1 from kanta.staff where user_id = v_uid and role = 'owner') then
    perform kanta.fail('owner_cannot_delete', 'conflict');
  end if;
  delete from kanta.member_tokens t using kanta.members m where t.member_id = m.id and m.user_id = v_uid;
  delete from kanta.messages x using kanta.members m where x.member_id = m.id and m.user_id = v_uid;
  update kanta.feedback f set comment = null, reply = null from kanta.members m
  where f.member_id = m.id and m.user_id = v_uid;
  update kanta.members set
    display_name = null, phone = null, birthday = null, birthday_set_at = null,
    marketing_consent = false, consent_at = null, vip_note = null,
    referral_code = kanta.new_referral_code(),
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
